/* lc_rules.c: the registry of the C stopping rules (lc_rules.h) and helpers they share. */
#include "lc_rules.h"

#include <string.h>

/* One line per kind; the kinds live in csrc/lc_rule_*.c. */
static const lc_rule_kind *const KINDS[] = {
    &lc_kind_optuna_threshold,
    &lc_kind_optuna_sh,
    &lc_kind_optuna_hyperband,
    &lc_kind_ray_asha,
    &lc_kind_synetune_asha,
    &lc_kind_synetune_median,
    &lc_kind_ray_median,
    &lc_kind_lce,
    &lc_kind_optuna_percentile,
    &lc_kind_optuna_median,
    &lc_kind_optuna_patient,
    &lc_kind_optuna_wilcoxon,
    &lc_kind_adaptive,
};

int32_t lc_rule_kind_count(void) { return (int32_t)(sizeof KINDS / sizeof KINDS[0]); }

const lc_rule_kind *lc_rule_kind_at(int32_t i) {
    return (i >= 0 && i < lc_rule_kind_count()) ? KINDS[i] : NULL;
}

const lc_rule_kind *lc_rule_kind_find(const char *name) {
    for (int32_t i = 0; i < lc_rule_kind_count(); i++)
        if (strcmp(KINDS[i]->name, name) == 0) return KINDS[i];
    return NULL;
}

void lc_sorted_insert(double *a, int64_t n, double v) {
    /* first index with a[k] > v (binary search), then shift */
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] <= v) lo = mid + 1; else hi = mid;
    }
    memmove(a + lo + 1, a + lo, (size_t)(n - lo) * sizeof(double));
    a[lo] = v;
}
