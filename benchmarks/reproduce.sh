#!/usr/bin/env bash
# Re-run every figure in RESULTS.md, one after another (about an hour on 2 cores), logs in runs/results/.
#   SEQLAB_DATA_DIR=../shared/datasets bash benchmarks/reproduce.sh [names...]
# Names: textcnn-mr textcnn-trec textcnn-sst2 bilstm-mr bow-mr quickstart adding gradients bench-epoch bench-recurrent
#        bench-recurrent-short adding-gru-paths bench-allocator
#        bilstm-imdb bilstm-mr-cv conll2000-crf conll2000-softmax ud-ewt-upos wnut17-crf bench-tagging
#        digits-caption-attn digits-caption-noattn bench-cotenancy
#        g2p-bilstm-attn g2p-transformer multi30k-gru multi30k-transformer tatoeba bench-decoding
#        conll2000-crf-sgd conll2000-crf-sgd-w2v textcnn-ensembles textcnn-vectors peers-conll2000 peers-mr
#        (the peers run side by side, one thread each)
#        lsa-mr ptb-small shakespeare-char mr-conditional-lm bench-lm w2v-wikitext2 textcnn-mr-w2v (language models and
#        the embeddings comparison run with SEQLAB_THREADS=1 in RESULTS.md, two at a time)
#        imdb-lm imdb-ulmfit imdb-ulmfit-1k imdb-ulmfit-1k-allunfrozen imdb-ulmfit-nodiscr imdb-scratch-1k imdb-bilstm-1k sst2-ulmfit mr-ulmfit sst2-ulmfit-ablations sst2-lm imdb-lm-stream
#        sst2-ulmfit-lmft conll2000-ulmfit imdb-lm-28k sst2-ulmfit-28k peers-ulmfit bench-lm-softmax (LM pretraining and transfer:
#        imdb-lm first, hours) conll2000-words serve-abuse (needs quickstart, shakespeare-char, g2p-bilstm-attn first)
#        peers-spacy-textcat peers-fasttext peers-spacy-tagger peers-spacy-infer peers-g2p peers-multi30k peers-decode (the peers
#        people would pick instead; see benchmarks/peers.py)
# Check: `bash benchmarks/reproduce.sh check NAME...` re-runs a cheap entry with the threads and seed it was recorded
#        with and compares the figure with RESULTS.md (benchmarks/check_figure.py --list names them; exit 1 if one differs).
set -uo pipefail
cd "$(dirname "$0")/.."
export SEQLAB_DATA_DIR=${SEQLAB_DATA_DIR:-$(cd .. && pwd)/shared/datasets}
BIN=${BIN:-.venv/bin}
OUT=runs/results
mkdir -p "$OUT"
if [[ ${1:-} == check ]]; then shift; exec $BIN/python benchmarks/check_figure.py "$@"; fi
all=(textcnn-mr textcnn-trec textcnn-sst2 bilstm-mr bow-mr quickstart adding gradients bench-epoch bench-recurrent bilstm-imdb)
names=("${@:-${all[@]}}")
run() { local name=$1; shift; echo "== $name: $*"; /usr/bin/time -f "$name wall %e s" "$@" > "$OUT/$name.log" 2>&1; tail -n 2 "$OUT/$name.log"; }
for n in "${names[@]}"; do
  case $n in
    textcnn-mr)   run $n $BIN/seqlab train --overwrite recipes/mr-textcnn.yaml --out $OUT/mr-textcnn --no-progress --json ;;
    textcnn-trec) run $n $BIN/seqlab train --overwrite recipes/trec-textcnn.yaml --out $OUT/trec-textcnn --no-progress --json ;;
    textcnn-sst2) run $n $BIN/seqlab train --overwrite recipes/sst2-textcnn.yaml --out $OUT/sst2-textcnn --no-progress --json ;;
    bilstm-mr)    run $n $BIN/seqlab train --overwrite recipes/mr-bilstm.yaml --out $OUT/mr-bilstm --no-progress --json ;;
    digits-caption-attn)   run $n $BIN/seqlab train --overwrite recipes/digits-caption-attn.yaml --out runs/digits-caption-attn --no-progress --json ;;
    digits-caption-noattn) run $n $BIN/seqlab train --overwrite recipes/digits-caption-noattn.yaml --out runs/digits-caption-noattn --no-progress --json ;;
    bench-cotenancy) run $n $BIN/python benchmarks/cotenancy.py --json $OUT/cotenancy.json ;;
    bow-mr)       run $n $BIN/seqlab train --overwrite recipes/mr-bow.yaml --out $OUT/mr-bow --no-progress --json ;;
    lsa-mr)       run $n $BIN/seqlab train --overwrite recipes/mr-lsa.yaml --out $OUT/mr-lsa --no-progress --json ;;
    quickstart)   run $n $BIN/seqlab quickstart --out $OUT/quickstart --no-progress --json ;;
    adding)       run $n $BIN/seqlab diagnose adding --out $OUT/diagnose --json ;;
    gradients)    run $n $BIN/seqlab diagnose gradients --out $OUT/diagnose --json \
                    --model $OUT/diagnose/adding-rnn --model $OUT/diagnose/adding-lstm --model $OUT/diagnose/adding-gru ;;
    bench-epoch)  run $n $BIN/python benchmarks/classification_epoch.py ;;
    bench-recurrent) run $n $BIN/python benchmarks/recurrent.py --repeats 15 --json $OUT/recurrent.json ;;
    bench-recurrent-short) run $n $BIN/python benchmarks/recurrent_short.py --repeats 60 ;;
    bench-allocator) run $n $BIN/python benchmarks/allocator.py ;;
    adding-gru-paths) SEQLAB_NO_ONEDNN_MATMUL=1 run $n-native $BIN/seqlab train --overwrite recipes/adding-gru.yaml \
                        --out runs/adding-speed/native --no-progress --json
                      run $n-equation $BIN/seqlab train --overwrite recipes/adding-gru.yaml --out runs/adding-speed/equation --no-progress --json ;;
    bilstm-imdb)  run $n $BIN/seqlab train --overwrite recipes/imdb-bilstm.yaml --out $OUT/imdb-bilstm --no-progress --json ;;
    conll2000-crf)     run $n $BIN/seqlab train --overwrite recipes/conll2000-bilstm-crf.yaml --out $OUT/conll2000-bilstm-crf --no-progress --json ;;
    conll2000-softmax) run $n $BIN/seqlab train --overwrite recipes/conll2000-bilstm-softmax.yaml --out $OUT/conll2000-bilstm-softmax --no-progress --json ;;
    ud-ewt-upos)       run $n $BIN/seqlab train --overwrite recipes/ud-ewt-upos-bilstm.yaml --out $OUT/ud-ewt-upos-bilstm --no-progress --json ;;
    wnut17-crf)        run $n $BIN/seqlab train --overwrite recipes/wnut17-bilstm-crf.yaml --out $OUT/wnut17-bilstm-crf --no-progress --json ;;
    bench-tagging)     run $n $BIN/python benchmarks/tagging_inference.py $OUT/conll2000-bilstm-crf ;;
    ptb-small)         run $n $BIN/seqlab train --overwrite recipes/ptb-small.yaml --out $OUT/ptb-small --no-progress --json ;;
    ptb-medium)        run $n $BIN/seqlab train --overwrite recipes/ptb-medium.yaml --out $OUT/ptb-medium --no-progress --json ;;
    wikitext2-lstm)    run $n $BIN/seqlab train --overwrite recipes/wikitext2-lstm.yaml --out $OUT/wikitext2-lstm --no-progress --json ;;
    shakespeare-char)  run $n $BIN/seqlab train --overwrite recipes/shakespeare-char.yaml --out $OUT/shakespeare-char --no-progress --json
                       $BIN/seqlab generate $OUT/shakespeare-char --prompt "ROMEO:" --max-tokens 400 --seed 1 --top-p 0.9 \
                         > $OUT/shakespeare-char-sample.txt ;;
    mr-conditional-lm) run $n $BIN/seqlab train --overwrite recipes/mr-conditional-lm.yaml --out $OUT/mr-conditional-lm --no-progress --json ;;
    bench-lm)          run $n $BIN/python benchmarks/lm_training.py --repeats 5 ;;
    w2v-wikitext2)     run $n $BIN/python benchmarks/word2vec_wikitext2.py --out runs/vectors/wikitext2-sg300.txt ;;
    textcnn-mr-w2v) for m in static nonstatic multichannel; do
                      run $n-$m $BIN/seqlab train --overwrite recipes/mr-textcnn-w2v-$m.yaml --out $OUT/mr-textcnn-w2v-$m --no-progress --json
                    done ;;
    g2p-bilstm-attn)   run $n $BIN/seqlab train --overwrite recipes/g2p-cmudict-bilstm-attn.yaml --out $OUT/g2p-cmudict-bilstm-attn --no-progress --json
                       run $n-beam5 $BIN/seqlab evaluate $OUT/g2p-cmudict-bilstm-attn --beam 5 --json ;;
    g2p-transformer)   run $n $BIN/seqlab train --overwrite recipes/g2p-cmudict-transformer.yaml --out $OUT/g2p-cmudict-transformer --no-progress --json
                       run $n-beam5 $BIN/seqlab evaluate $OUT/g2p-cmudict-transformer --beam 5 --json ;;
    multi30k-gru)      run $n $BIN/seqlab train --overwrite recipes/multi30k-de-en-gru-bahdanau.yaml --set train.max_minutes=20 \
                         --out $OUT/multi30k-de-en-gru-bahdanau --no-progress --json ;;
    multi30k-transformer) run $n $BIN/seqlab train --overwrite recipes/multi30k-de-en-transformer.yaml --set train.max_minutes=16 \
                         --out $OUT/multi30k-de-en-transformer --no-progress --json ;;
    tatoeba)           run $n $BIN/seqlab train --overwrite recipes/tatoeba-spa-eng.yaml --set train.max_minutes=20 \
                         --out $OUT/tatoeba-spa-eng --no-progress --json ;;
    bench-decoding)    run $n $BIN/python benchmarks/decoding.py $OUT/g2p-cmudict-bilstm-attn ;;
    conll2000-crf-sgd) run $n $BIN/seqlab train --overwrite recipes/conll2000-bilstm-crf-sgd.yaml --out $OUT/conll2000-sgd --no-progress --json
                       run $n-averaged $BIN/seqlab average $OUT/conll2000-sgd ;;
    conll2000-crf-sgd-w2v) run $n-vectors $BIN/seqlab embed train conll2000 imdb wikitext2 --tokenizer kim --lowercase --dim 100 \
                           --out runs/vectors/conll-imdb-wikitext2-sg100.txt
                       for seed in 1 2 3; do
                         run $n-s$seed $BIN/seqlab train --overwrite recipes/conll2000-bilstm-crf-sgd-w2v.yaml --set train.seed=$seed \
                           --out $OUT/conll2000-sgd-w2v-s$seed --no-progress --json
                       done ;;
    textcnn-ensembles) run $n bash benchmarks/textcnn_ensembles.sh ;;
    textcnn-vectors)   run $n $BIN/python benchmarks/textcnn_vectors.py --json $OUT/textcnn-vectors.json ;;
    peers-conll2000)   run $n $BIN/python benchmarks/peers.py conll2000 --minutes 20 --json $OUT/peers-conll2000.json ;;
    peers-mr)          run $n $BIN/python benchmarks/peers.py mr --epochs 5 --json $OUT/peers-mr.json ;;
    peers-spacy-textcat) run $n-mr $BIN/python benchmarks/peers.py spacy-textcat --sets mr --seeds 1,2,3 --minutes 12 \
                        --json $OUT/peers-spacy-textcat-mr.json
                      run $n-trec-sst2 $BIN/python benchmarks/peers.py spacy-textcat --sets trec,sst2 --seeds 1,2,3 \
                        --ensemble-seeds 0 --minutes 12 --json $OUT/peers-spacy-textcat-trec-sst2.json ;;
    peers-fasttext)   run $n $BIN/python benchmarks/peers.py fasttext --sets mr,sst2,trec --seeds 1,2,3 --json $OUT/peers-fasttext.json
                      run $n-imdb $BIN/python benchmarks/peers.py fasttext --sets imdb --seeds 1 --json $OUT/peers-fasttext-imdb.json ;;
    peers-spacy-tagger) run $n-ud $BIN/python benchmarks/peers.py spacy-tagger --sets ud-ewt --seeds 1 --minutes 10 \
                        --json $OUT/peers-spacy-tagger-ud.json
                      run $n-conll $BIN/python benchmarks/peers.py spacy-tagger --sets conll2000 --seeds 1 --minutes 15 \
                        --json $OUT/peers-spacy-tagger-conll.json ;;
    peers-spacy-infer) run $n $BIN/python benchmarks/peers.py spacy-infer --json $OUT/peers-spacy-infer.json
                      run $n-bow $BIN/python benchmarks/peers.py spacy-infer --seqlab-model runs/peers/seqlab-mr-mr-bow-s1 \
                        --json $OUT/peers-spacy-infer-bow.json ;;
    peers-g2p)        run $n $BIN/python benchmarks/peers.py g2p --minutes 20 --dp-warmup 1000 --json $OUT/peers-g2p.json ;;
    peers-multi30k)   run $n $BIN/python benchmarks/peers.py multi30k --minutes 15 --eole-warmup 1000 \
                        --eole-checkpoint-steps 200 --json $OUT/peers-multi30k.json ;;
    peers-decode)     run $n $BIN/python benchmarks/peers.py decode --json $OUT/peers-decode.json ;;  # after peers-multi30k
    bilstm-mr-cv) for k in 0 1 2 3 4 5 6 7 8 9; do
                    run $n-$k $BIN/seqlab train --overwrite recipes/mr-bilstm.yaml --set data.fold=$k --out $OUT/mr-bilstm-fold$k --no-progress --json
                  done ;;
    imdb-lm)          run $n $BIN/seqlab train --overwrite recipes/imdb-lm.yaml --out runs/imdb-lm --no-progress --json
                      sha256sum runs/imdb-lm/model/model.safetensors | tee $OUT/imdb-lm.sha256 ;;
    imdb-ulmfit)      for s in 1 2 3; do run $n-seed$s $BIN/seqlab train --overwrite recipes/imdb-ulmfit.yaml \
                        --out $OUT/imdb-ulmfit-seed$s --no-progress --json --set train.seed=$s; done ;;
    imdb-ulmfit-1k)   for s in 1 2 3; do run $n-seed$s $BIN/seqlab train --overwrite recipes/imdb-ulmfit.yaml \
                        --out $OUT/imdb-ulmfit-1k-seed$s --no-progress --json --set data.per_class=500 --set train.seed=$s; done ;;
    imdb-ulmfit-1k-allunfrozen) for s in 1 2 3; do run $n-seed$s $BIN/seqlab train --overwrite recipes/imdb-ulmfit.yaml \
                        --out $OUT/$n-seed$s --no-progress --json --set data.per_class=500 --set train.seed=$s --set train.unfreeze=all; done ;;
    imdb-ulmfit-nodiscr) for s in ${SEEDS:-1 2 3}; do run $n-seed$s $BIN/seqlab train --overwrite recipes/imdb-ulmfit.yaml \
                        --out $OUT/$n-seed$s --no-progress --json --set train.seed=$s --set train.lr_group_decay=null; done ;;
    imdb-scratch-1k)  for s in 1 2 3; do run $n-seed$s $BIN/seqlab train --overwrite recipes/imdb-ulmfit.yaml \
                        --out $OUT/imdb-scratch-1k-seed$s --no-progress --json --set data.per_class=500 --set train.seed=$s \
                        --set model.encoder_from=null --set train.unfreeze=all --set train.lr_group_decay=null; done ;;
    imdb-bilstm-1k)   for s in 1 2 3; do run $n-seed$s $BIN/seqlab train --overwrite recipes/imdb-bilstm.yaml \
                        --out $OUT/imdb-bilstm-1k-seed$s --no-progress --json --set data.per_class=500 --set train.seed=$s; done ;;
    sst2-ulmfit|mr-ulmfit) for s in 1 2 3; do run $n-seed$s $BIN/seqlab train --overwrite recipes/$n.yaml \
                        --out $OUT/$n-seed$s --no-progress --json --set train.seed=$s; done ;;
    sst2-ulmfit-ablations) for s in 1 2 3; do  # ULMFiT's table, one part off at a time (the full recipe: sst2-ulmfit)
                        run $n-nopretrain-seed$s $BIN/seqlab train --overwrite recipes/sst2-ulmfit.yaml --out $OUT/sst2-abl-nopretrain-seed$s \
                          --no-progress --json --set train.seed=$s --set model.encoder_from=null --set train.unfreeze=all --set train.lr_group_decay=null
                        run $n-nodiscr-seed$s $BIN/seqlab train --overwrite recipes/sst2-ulmfit.yaml --out $OUT/sst2-abl-nodiscr-seed$s \
                          --no-progress --json --set train.seed=$s --set train.lr_group_decay=null
                        run $n-nostlr-seed$s $BIN/seqlab train --overwrite recipes/sst2-ulmfit.yaml --out $OUT/sst2-abl-nostlr-seed$s \
                          --no-progress --json --set train.seed=$s --set train.schedule=constant
                        run $n-nogradual-seed$s $BIN/seqlab train --overwrite recipes/sst2-ulmfit.yaml --out $OUT/sst2-abl-nogradual-seed$s \
                          --no-progress --json --set train.seed=$s --set train.unfreeze=all
                        run $n-lastpool-seed$s $BIN/seqlab train --overwrite recipes/sst2-ulmfit.yaml --out $OUT/sst2-abl-lastpool-seed$s \
                          --no-progress --json --set train.seed=$s --set model.pooling=last
                      done ;;
    imdb-lm-stream)   for mode in true false; do  # tokens/s and peak memory (GNU time's maximum resident set), 5 minutes each
                        run $n-$mode /usr/bin/time -v $BIN/seqlab train --overwrite recipes/imdb-lm.yaml --out runs/imdb-lm-stream-$mode \
                          --no-progress --json --set data.stream=$mode --set train.max_minutes=5; done ;;
    sst2-lm)          run $n $BIN/seqlab train --overwrite recipes/sst2-lm.yaml --out runs/sst2-lm --no-progress --json
                      sha256sum runs/sst2-lm/model/model.safetensors | tee $OUT/sst2-lm.sha256 ;;
    sst2-ulmfit-lmft) for s in 1 2 3; do run $n-seed$s $BIN/seqlab train --overwrite recipes/sst2-ulmfit.yaml \
                        --out $OUT/$n-seed$s --no-progress --json --set train.seed=$s --set model.encoder_from=runs/sst2-lm; done ;;
    conll2000-ulmfit) run $n-seed1 $BIN/seqlab train --overwrite recipes/conll2000-ulmfit.yaml --out $OUT/$n-seed1 --no-progress --json
                      run conll2000-scratch512-seed1 $BIN/seqlab train --overwrite recipes/conll2000-ulmfit.yaml \
                        --out $OUT/conll2000-scratch512-seed1 --no-progress --json --set model.encoder_from=null \
                        --set train.unfreeze=all --set train.lr_group_decay=null ;;
    imdb-lm-28k)      run $n $BIN/seqlab train --overwrite recipes/imdb-lm.yaml --out runs/imdb-lm-28k --no-progress --json \
                        --set data.limit=28000 --set train.max_minutes=45
                      sha256sum runs/imdb-lm-28k/model/model.safetensors | tee $OUT/imdb-lm-28k.sha256 ;;
    sst2-ulmfit-28k)  for s in 1 2 3; do run $n-seed$s $BIN/seqlab train --overwrite recipes/sst2-ulmfit.yaml \
                        --out $OUT/$n-seed$s --no-progress --json --set train.seed=$s --set model.encoder_from=runs/imdb-lm-28k \
                        --set data.vocab_from=runs/imdb-lm-28k; done ;;
    peers-ulmfit)     run $n $BIN/python benchmarks/peers.py ulmfit --seeds 1 --fastai-lm-lines 15000 --seqlab-points \
                        runs/imdb-lm:$OUT/sst2-ulmfit-seed1,runs/imdb-lm-28k:$OUT/sst2-ulmfit-28k-seed1 --json $OUT/peers-ulmfit.json ;;
    bench-lm-softmax) run $n $BIN/python benchmarks/lm_softmax.py --steps 20 --json $OUT/lm_softmax.json ;;
    conll2000-words)  run $n $BIN/seqlab train --overwrite recipes/conll2000-bilstm-crf-words.yaml --out runs/conll2000-words --no-progress --json ;;
    serve-abuse)      run $n $BIN/python benchmarks/serve_abuse.py --classifier $OUT/quickstart --tagger runs/conll2000-words \
                        --lm $OUT/shakespeare-char --seq2seq $OUT/g2p-bilstm-attn --json $OUT/serve_abuse.json ;;
    *) echo "unknown: $n"; exit 2 ;;
  esac
done
