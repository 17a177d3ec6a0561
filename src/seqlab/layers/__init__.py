"""Neural building blocks: pooling over time, convolution blocks; recurrent cells come with the layers issue."""
