"""Write the synthetic stand-in table that ships until the real pretrained one replaces it.

    python tables/make_synthetic.py   # -> lcore/data/synthetic_mnist_small.npz
"""

import os

from lcore.table import synthetic

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    t = synthetic("mnist_lenet5_small", n=2000, epochs=15, seed=20261125)
    t.meta["notes"] = (
        "SYNTHETIC learning curves (not trained), the shape of the real MNIST small table "
        "(2,000 Sobol configurations x 15 epochs); shipped only until the pretrained table "
        "replaces it"
    )
    print(t.save(os.path.join(HERE, "..", "lcore", "data", "synthetic_mnist_small.npz")))
    print(t.describe())
