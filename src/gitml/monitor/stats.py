"""Two-sample drift statistics, exact and vectorised with numpy.

Numeric columns: both samples are sorted once; the two-sample Kolmogorov-Smirnov
statistic and the Wasserstein-1 distance then come from one O(n) merge of the sorted
samples (the same quantities scipy's `ks_2samp` and `wasserstein_distance` compute by
searching every pooled value), and the PSI and chart histograms from a binary search
of a few bin edges. Categorical columns: counts per category, then the contingency
chi-square test (as scipy's `chi2_contingency`), the Jensen-Shannon distance (natural
log, as scipy's `jensenshannon`) and the PSI. scipy.stats (slow to import) is used only
for the exact KS p-values of small samples; large ones need only scipy.special.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Share given to an empty bin in the PSI, so one empty bin does not make it infinite.
PSI_FLOOR = 1e-4
#: scipy's `ks_2samp(method="auto")` computes exact p-values up to this many values per sample.
KS_EXACT_MAX = 10_000


def ks_wasserstein(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> tuple[float, float]:
    """KS statistic and Wasserstein-1 distance of two sorted, non-empty samples."""
    n, m = len(ref_sorted), len(cur_sorted)
    at = np.searchsorted(cur_sorted, ref_sorted, side="left")
    at += np.arange(n)
    from_ref = np.zeros(n + m, dtype=bool)
    from_ref[at] = True
    pooled = np.empty(n + m)
    pooled[at] = ref_sorted
    pooled[~from_ref] = cur_sorted
    del at
    ref_seen = np.cumsum(from_ref, dtype=np.int64)
    gap = np.arange(1, n + m + 1, dtype=np.float64)
    gap -= ref_seen
    gap *= -1.0 / m
    gap += ref_seen * (1.0 / n)
    np.abs(gap, out=gap)
    del ref_seen, from_ref
    steps = np.diff(pooled)
    # Within a run of tied values only the last position is a point of both ECDFs.
    ks = max(float(np.max(gap[:-1], where=steps > 0, initial=0.0)), float(gap[-1]))
    return ks, float(np.dot(gap[:-1], steps))


#: Above this effective sample size, Stephens' corrected asymptotic Kolmogorov formula replaces
#: scipy's finite-n distribution (`kstwo`, which takes up to a second per column in the far tail
#: at 500,000): they agree within 0.5% relative there, and scipy.stats is not even imported.
KS_FINITE_MAX = 10_000


def ks_pvalue(ks: float, ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> float:
    """The two-sided p-value of scipy's `ks_2samp`: exact for small samples, else asymptotic."""
    n, m = len(ref_sorted), len(cur_sorted)
    big, small = max(n, m), min(n, m)
    effective = round(big * small / (big + small))
    if big <= KS_EXACT_MAX or effective <= KS_FINITE_MAX:
        from scipy import stats

        if big <= KS_EXACT_MAX:
            return float(stats.ks_2samp(ref_sorted, cur_sorted).pvalue)
        return float(stats.kstwo.sf(ks, effective))
    from scipy import special

    root = math.sqrt(effective)
    return float(special.kolmogorov((root + 0.12 + 0.11 / root) * ks))


def _at(sorted_values: np.ndarray, q: float) -> float:
    return float(sorted_values[min(len(sorted_values) - 1, int(q * (len(sorted_values) - 1)))])


def _counts(sorted_values: np.ndarray, inner_edges: np.ndarray) -> np.ndarray:
    """Counts in (-inf, e1], (e1, e2], ..., (ek, inf): outliers land in the end bins."""
    cuts = np.searchsorted(sorted_values, inner_edges, side="right")
    return np.diff(np.concatenate([[0], cuts, [len(sorted_values)]]))


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    ref = np.maximum(ref_counts / max(ref_counts.sum(), 1), PSI_FLOOR)
    cur = np.maximum(cur_counts / max(cur_counts.sum(), 1), PSI_FLOOR)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def numeric(ref: np.ndarray, cur: np.ndarray, psi_bins: int, chart_bins: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Statistics and a chart histogram of two non-empty float samples without NaN."""
    ref_sorted, cur_sorted = np.sort(ref), np.sort(cur)
    ks, wasserstein = ks_wasserstein(ref_sorted, cur_sorted)
    ref_std = float(ref_sorted.std())
    # Against a constant reference, any movement at all is infinitely many standard deviations.
    normalised = wasserstein / ref_std if ref_std > 0 else (0.0 if wasserstein == 0 else math.inf)
    edges = np.unique([_at(ref_sorted, q) for q in np.linspace(0, 1, psi_bins + 1)[1:-1]])
    stats = {
        "ks": ks,
        "ks_pvalue": ks_pvalue(ks, ref_sorted, cur_sorted),
        "wasserstein": normalised,
        "psi": psi(_counts(ref_sorted, edges), _counts(cur_sorted, edges)),
        "ref_mean": float(ref_sorted.mean()),
        "cur_mean": float(cur_sorted.mean()),
        "ref_std": ref_std,
        "cur_std": float(cur_sorted.std()),
    }
    return stats, _numeric_chart(ref_sorted, cur_sorted, chart_bins)


def _numeric_chart(ref_sorted: np.ndarray, cur_sorted: np.ndarray, bins: int) -> dict[str, Any]:
    """Shares per equal-width bin over the 1st-99th percentile range of both samples."""
    low = min(_at(ref_sorted, 0.01), _at(cur_sorted, 0.01))
    high = max(_at(ref_sorted, 0.99), _at(cur_sorted, 0.99))
    if high <= low:
        low, high = min(ref_sorted[0], cur_sorted[0]), max(ref_sorted[-1], cur_sorted[-1])
    if high <= low:
        low, high = low - 0.5, high + 0.5
    inner = np.linspace(low, high, bins + 1)[1:-1]
    return {
        "kind": "numeric",
        "low": float(low),
        "high": float(high),
        "ref": (_counts(ref_sorted, inner) / len(ref_sorted)).tolist(),
        "cur": (_counts(cur_sorted, inner) / len(cur_sorted)).tolist(),
    }


def jensenshannon(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log, in [0, sqrt(ln 2)]) of two count vectors."""
    p, q = ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
    mid = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log(p / mid), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log(q / mid), 0.0).sum()
    return float(math.sqrt(max((kl_p + kl_q) / 2, 0.0)))


def contingency_chi2(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """The chi-square test of a 2 x k contingency table, as scipy's `chi2_contingency` computes it
    (Yates' correction at one degree of freedom); only the p-value needs scipy.special."""
    from scipy import special

    observed = np.vstack([ref, cur])
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    dof = observed.shape[1] - 1
    if dof == 0:
        return 0.0, 1.0
    if dof == 1:
        diff = expected - observed
        observed = observed + np.sign(diff) * np.minimum(0.5, np.abs(diff))
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    return chi2, float(special.chdtrc(dof, chi2))


def categorical(
    ref_counts: dict[str, int], cur_counts: dict[str, int], chart_bins: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Statistics and a chart of two non-empty category count tables."""
    levels = sorted(ref_counts.keys() | cur_counts.keys(), key=lambda k: (-ref_counts.get(k, 0), k))
    ref = np.array([ref_counts.get(k, 0) for k in levels], dtype=float)
    cur = np.array([cur_counts.get(k, 0) for k in levels], dtype=float)
    chi2, pvalue = contingency_chi2(ref, cur)
    new = [k for k in levels if k not in ref_counts]
    stats = {
        "chi2": float(chi2),
        "chi2_pvalue": float(pvalue),
        "jensenshannon": jensenshannon(ref, cur),
        "psi": psi(ref, cur),
        "categories": len(levels),
        "new_share": float(sum(cur_counts[k] for k in new) / cur.sum()),
    }
    return stats, _categorical_chart(levels, ref, cur, chart_bins, new)


def _categorical_chart(
    levels: list[str], ref: np.ndarray, cur: np.ndarray, bins: int, new: list[str]
) -> dict[str, Any]:
    """Shares of the most frequent categories, the rest summed into one `(other)` bar."""
    ref_share, cur_share = ref / ref.sum(), cur / cur.sum()
    order = np.argsort(-(ref_share + cur_share), kind="stable")
    shown, rest = order[: bins - 1] if len(order) > bins else order, order[bins - 1 :] if len(order) > bins else []
    labels = [levels[i] for i in shown]
    ref_out, cur_out = ref_share[shown].tolist(), cur_share[shown].tolist()
    if len(rest):
        labels.append("(other)")
        ref_out.append(float(ref_share[rest].sum()))
        cur_out.append(float(cur_share[rest].sum()))
    return {"kind": "categorical", "labels": labels, "ref": ref_out, "cur": cur_out, "new": new[:10]}
