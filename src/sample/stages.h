/* stages.h — the sampling stages as plain functions over a candidates
 * array; chain.c strings them together. Every function expects finite
 * logits (lf_cand_normalize makes them so) and leaves them finite. */
#ifndef LF_SAMPLE_STAGES_H
#define LF_SAMPLE_STAGES_H

#include "llamafile.h"

/* Drops NaN and -Inf candidates (keeping the order), +Inf becomes FLT_MAX. */
void lf_cand_normalize(lf_candidates *c);
/* A computed logit made finite: NaN → -FLT_MAX, ±Inf → ±FLT_MAX. */
float lf_cand_clamp(float logit);
/* Descending logits, ties to the lower id. */
void lf_cand_sort(lf_candidates *c);
/* Sets p to the softmax of the logits; returns the sum of exp(logit - max). */
double lf_cand_softmax(lf_candidates *c);

void lf_cand_top_k(lf_candidates *c, int32_t k);
void lf_cand_top_p(lf_candidates *c, float p);
void lf_cand_min_p(lf_candidates *c, float p);
void lf_cand_typical(lf_candidates *c, float p);
void lf_cand_temp(lf_candidates *c, float t);
void lf_cand_greedy(lf_candidates *c);
/* Selects by the softmax, u uniform in [0, 1). */
void lf_cand_draw(lf_candidates *c, double u);

#endif
