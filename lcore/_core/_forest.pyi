import numpy as np

NODE_FIELDS: tuple[str, ...]

def fit(
    X: np.ndarray, y: np.ndarray, n_trees: int, max_depth: int, min_samples_split: int,
    min_samples_leaf: int, max_features: int, bootstrap: bool, seed64: int, t_begin: int,
    t_end: int,
) -> dict[str, np.ndarray]: ...
SET_MIN_ROWS: int

def check_nodes(nodes: dict, d: int) -> tuple[int, int]: ...
def predict(
    nodes: dict, X: np.ndarray, return_var: bool, variance_total: bool, mode: int = 0,
    best_xi: tuple[float, float] | None = None,
) -> np.ndarray | tuple[np.ndarray, ...]: ...
def predict_trees(nodes: dict, X: np.ndarray) -> np.ndarray: ...
def apply(nodes: dict, X: np.ndarray) -> np.ndarray: ...
def acquisition(
    kind: str, mu: np.ndarray, sigma: np.ndarray, a: float, b: float
) -> np.ndarray: ...

class RFEIContext:
    n_all: int
    d: int
    max_seen: int
    has_avx2: bool
    def __init__(
        self, X_all: np.ndarray, max_seen: int, n_trees: int, max_depth: int,
        min_samples_split: int, min_samples_leaf: int, max_features: int, bootstrap: bool,
        variance_total: bool, bitset_depth: int = 0, n_threads: int = 1,
    ) -> None: ...
    def choose(
        self, seen_rows: np.ndarray, y_seen: np.ndarray, active: np.ndarray, best: float,
        xi: float, seed64: int, tie_state: np.ndarray,
    ) -> int: ...
    def score(
        self, seen_rows: np.ndarray, y_seen: np.ndarray, active: np.ndarray, best: float,
        xi: float, seed64: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
    def use_avx2(self, on: bool) -> bool: ...
    def stats(self) -> dict[str, int]: ...
    @property
    def n_threads(self) -> int: ...

def threads_available() -> bool: ...
