/* lc_rules.h: stopping rules written in C behind the replay loop's rule interface
 * (lc_rule_ops, lc_replay.h), found by name.
 *
 * A rule kind is a name, a size, a constructor from a parameter vector and its ops.  The
 * Python twin of each kind (lcore/stopping/...) validates the parameters and lays them out
 * as float64 values (integers exactly, booleans 0/1, "no value" as NaN); the binding
 * (lcore/_core/_replay.pyx) allocates lc_rule_kind.bytes(...) bytes, 64-byte aligned,
 * calls init on them and plugs {ops, mem} into the loop.  The state lives in that block:
 * init carves it, ops->reset clears it at the start of every repeat, ops->decide and
 * ops->on_end update it incrementally.
 *
 * What a kind may read in the history (lc_history): every trial's n_obs, state, row and best,
 * and the curve of the trial being decided (LC_CURVE(h, trial)) or ending (in on_end).  The
 * curves of other trials that are still running are readable only when the kind sets
 * needs_all_curves (the loop then keeps one curve row per trial instead of one per worker);
 * rules that need other trials' values at an epoch should rather record them as they are
 * observed (decide sees every epoch t < T of every trial, on_end every trial's full curve).
 *
 * A wrapping kind (needs_inner = 1, e.g. a patience wrapper) gets the wrapped rule in init,
 * already built, and copies the lc_rule struct (the pointer is not kept); it must forward reset / decide / on_end to it (any of the inner ops may be
 * NULL).  The inner rule's memory is owned by the binding.
 */
#ifndef LC_RULES_H
#define LC_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "lc_replay.h"

typedef struct {
    const char *name;          /* the registry name of the rule ("optuna-threshold", ...) */
    int32_t n_params;          /* length of the parameter vector */
    int32_t needs_all_curves;  /* 1: reads the curves of other running trials */
    int32_t needs_inner;       /* 1: wraps another rule (passed to init) */
    /* bytes of state for horizon T and at most cap trials per repeat */
    size_t (*bytes)(const double *par, int32_t T, int64_t cap);
    /* build the rule in mem (zeroed, 64-byte aligned, bytes(...) long); mode +1 / -1.
     * Returns 0, or < 0 when the parameters are unusable (the Python twin should have
     * refused them first). */
    int (*init)(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                const lc_rule *inner);
    const lc_rule_ops *ops;
} lc_rule_kind;

/* The kind named `name`, or NULL. */
const lc_rule_kind *lc_rule_kind_find(const char *name);
/* The i-th registered kind (0 <= i < lc_rule_kind_count()). */
int32_t lc_rule_kind_count(void);
const lc_rule_kind *lc_rule_kind_at(int32_t i);

/* ---- small helpers shared by the kinds ----------------------------------------------- */

/* Round n up to a multiple of 64 (for carving aligned blocks out of a state). */
static inline size_t lc_align64(size_t n) { return (n + 63u) & ~(size_t)63u; }

/* Insert v into the sorted a[0..n) (ascending; NaN not allowed), shifting the tail;
 * a must have room for n + 1 values.  Equal values: v goes after them. */
void lc_sorted_insert(double *a, int64_t n, double v);

/* NumPy's linear interpolation between the order statistics lo <= hi at fraction g of the
 * way (numpy's _lerp: from the nearer end), as np.quantile(..., method="linear") does. */
static inline double lc_numpy_lerp(double lo, double hi, double g) {
    const double d = hi - lo;
    return g >= 0.5 ? hi - d * (1.0 - g) : lo + d * g;
}

/* The registered kinds (one line each in lc_rules.c's table). */
extern const lc_rule_kind lc_kind_optuna_threshold;
extern const lc_rule_kind lc_kind_optuna_sh;
extern const lc_rule_kind lc_kind_optuna_hyperband;
extern const lc_rule_kind lc_kind_ray_asha;
extern const lc_rule_kind lc_kind_synetune_asha;
extern const lc_rule_kind lc_kind_synetune_median;
extern const lc_rule_kind lc_kind_ray_median;
extern const lc_rule_kind lc_kind_lce;
extern const lc_rule_kind lc_kind_optuna_percentile;
extern const lc_rule_kind lc_kind_optuna_median;
extern const lc_rule_kind lc_kind_optuna_patient;
extern const lc_rule_kind lc_kind_optuna_wilcoxon;
extern const lc_rule_kind lc_kind_adaptive;

#endif /* LC_RULES_H */
