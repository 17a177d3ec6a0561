"""Bag-of-words baseline: TF-IDF features + logistic regression, fitted by scikit-learn and run as a
torch module, so it is saved, loaded, evaluated and served like every other seqlab model.

Features are scikit-learn's ``TfidfVectorizer`` defaults over the model's vocabulary:
tf(w, d) = count of w in d (1 + ln count with ``sublinear_tf``), idf(w) = ln((1 + n) / (1 + df(w))) + 1,
x = l2-normalised tf · idf. Special tokens (``<pad> <unk> <bos> <eos>``) have idf 0 and never count, as
out-of-vocabulary words are ignored by scikit-learn. logits = W x + b with W, b copied from
``LogisticRegression`` (binary: row 0 is zero, row 1 is its coefficient, the same softmax as its sigmoid).

``lsa_components: k`` > 0 puts latent semantic analysis (Deerwester et al. 1990) between the two: the
documents' TF-IDF rows projected on the top k right singular vectors of the training TF-IDF matrix
(scikit-learn's ``TruncatedSVD``), z = V_kᵀ x, and the logistic regression is fitted on z.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

N_SPECIALS = 4


@dataclass
class BagOfWordsConfig:
    name: str = "bow"
    vocab_size: int = 0
    num_classes: int = 0
    padding_idx: int = 0
    sublinear_tf: bool = False
    C: float = 1.0  # inverse regularisation strength of the logistic regression
    max_iter: int = 1000
    lsa_components: int = 0  # > 0: LSA, the TF-IDF rows reduced to this many SVD components first
    seed: int = 0  # TruncatedSVD's randomised solver


class BagOfWords(nn.Module):
    def __init__(self, cfg: BagOfWordsConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("idf", torch.zeros(cfg.vocab_size))
        k = cfg.lsa_components
        self.register_buffer("lsa", torch.zeros(k, cfg.vocab_size) if k else None)
        self.head = nn.Linear(k or cfg.vocab_size, cfg.num_classes)

    def features(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """TF-IDF rows [B, V] for a padded batch."""
        mask = torch.arange(ids.size(1), device=ids.device)[None, :] < lengths[:, None]
        counts = torch.zeros(ids.size(0), self.idf.numel(), device=ids.device, dtype=self.idf.dtype)
        counts.scatter_add_(1, ids, mask.to(counts.dtype))
        if self.cfg.sublinear_tf:
            counts = torch.where(counts > 0, 1.0 + torch.log(counts.clamp_min(1.0)), counts)
        x = counts * self.idf
        x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return x @ self.lsa.T if self.lsa is not None else x

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(ids, lengths))  # [B, C]

    def fit_closed_form(self, itos: Sequence[str], token_ids: Sequence[Sequence[int]], labels: Sequence[int]) -> dict:
        """Fit TF-IDF + logistic regression with scikit-learn and copy the result into this module."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        vocabulary = {tok: i - N_SPECIALS for i, tok in enumerate(itos) if i >= N_SPECIALS}
        vectorizer = TfidfVectorizer(
            analyzer=lambda ids: [itos[i] for i in ids], vocabulary=vocabulary, sublinear_tf=self.cfg.sublinear_tf
        )
        features = vectorizer.fit_transform(token_ids)
        svd = None
        if self.cfg.lsa_components:
            from sklearn.decomposition import TruncatedSVD

            svd = TruncatedSVD(self.cfg.lsa_components, random_state=self.cfg.seed)
            features = svd.fit_transform(features)
        classifier = LogisticRegression(C=self.cfg.C, max_iter=self.cfg.max_iter)
        classifier.fit(features, np.asarray(labels))
        with torch.no_grad():
            self.idf.zero_()
            self.idf[N_SPECIALS:] = torch.as_tensor(vectorizer.idf_, dtype=self.idf.dtype)
            columns = slice(0, None) if svd is not None else slice(N_SPECIALS, None)
            if svd is not None:
                self.lsa.zero_()
                self.lsa[:, N_SPECIALS:] = torch.as_tensor(svd.components_, dtype=self.lsa.dtype)
            weight = torch.zeros_like(self.head.weight)
            bias = torch.zeros_like(self.head.bias)
            coef = torch.as_tensor(classifier.coef_, dtype=weight.dtype)
            intercept = torch.as_tensor(classifier.intercept_, dtype=bias.dtype)
            classes = list(classifier.classes_)
            if coef.size(0) == 1:  # binary: sigmoid(w·x + b) == softmax([0, w·x + b])[1]
                weight[classes[1], columns] = coef[0]
                bias[classes[1]] = intercept[0]
            else:
                for row, cls in enumerate(classes):
                    weight[cls, columns] = coef[row]
                    bias[cls] = intercept[row]
            self.head.weight.copy_(weight)
            self.head.bias.copy_(bias)
        self.sklearn = (vectorizer, svd, classifier)  # kept for tests; never saved
        return {"train_accuracy": float(classifier.score(features, np.asarray(labels)))}
