"""Text → token ids → batches: tokenizers, vocabulary, file readers, batching and the dataset registry."""
