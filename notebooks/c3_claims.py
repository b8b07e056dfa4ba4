# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # C3: the paper's claims, tested
#
# Garbus & Pollack claim, for the language model:
#
# 1. **factorized ≥ dense**: low-rank factorized neuroevolution "outperforms or is competitive with
#    non-factorized neuroevolution, performing notably well on language modeling";
# 2. **factorized ≥ small dense**: the gain is not just a smaller search space, since a non-factorized
#    network of similar (or smaller) evolved size does worse;
# 3. **factorized mutations are more often, and more strongly, deleterious**.
#
# Their `p-values.py` tests the best individual's negative cross-entropy at the last generation
# (index 299) with a Kruskal–Wallis test over the three main variants (dense, low-rank, small), a
# Wilcoxon rank-sum test per pair (`scipy.stats.ranksums`) and Glass's Δ with the comparator as control
# (`np.std`, population standard deviation). This page computes exactly those on the runs of C1 and
# C2, and adds a verdict by the rule every study of this book uses (`nevolab.stats.verdict`): the effect
# is the difference of means over seeds, factorized minus comparator, with a 95% percentile-bootstrap
# interval; **reproduced** when the interval lies on the claimed side of zero, **not reproduced** when
# it lies on the other, **inconclusive** when it contains zero. Claims 1 and 2 say "≥", which a tie
# satisfies; the verdict tests the strict "better", so an *inconclusive* there means "no difference
# detectable at this scale", not a refutation.
#
# Claim 3 is measured on every child against its parent (see C2), per seed over the last 10% of the
# generations: the fraction of deleterious children, and the mean loss increase of the deleterious ones.
#
# Each claim is tested for both factorized variants: rank 4 with embedding rank 32 (the paper's "Larger
# Rank", the one its `p-values.py` tests) and rank 1 with embedding rank 4 (the "Smaller Rank", the one
# whose evolved size is close to the small dense model's: 13,023 vs 11,671 genes at the paper's scale).

# %% tags=["parameters"]
profile = "default"
variants = None
population = None
elites = None
generations = None
seeds = None
tokenizer = None
sequence_length = None
num_sequences = None
rank = None
embedding_rank = None
mutation_rate = None
num_blocks = None
fresh = False

# %% [markdown]
# ## Parameters

# %%
from nevolab import registry, store
from nevolab.studies.c.claims import CLAIMS, kruskal_wallis, per_seed_outcomes, study_c_claims
from nevolab.studies.c.runs import runs_for_config

config = registry.configure_from("c3_claims", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
print(f"scale: population {config.population} (paper 512), {config.generations} generations (paper 300), "
      f"{config.num_sequences} windows of {config.sequence_length} {config.tokenizer} tokens "
      f"(paper: 1024 TinyStories stories, 2048-token BPE), {config.seeds} seeds per variant")
config.table()

# %% [markdown]
# ## Compute
# The runs are C1's and C2's (cached per variant under `data/results/study_c_runs/`); this page's
# table, one row per variant and seed, is cached under `data/results/c3_claims/`.

# %%
import pandas as pd
from IPython.display import display

outcomes, provenance = store.cached(
    config, lambda: per_seed_outcomes(runs_for_config(config, fresh=fresh)[0]), fresh=fresh,
    seeds={"seeds": list(range(config.seeds)), "data_seed": 0})
print(f"computed on {provenance['machine']['cpu']}, {provenance['date']}, "
      f"commit {provenance['git_commit'][:12]}")
outcomes.groupby("variant")[["final_neg_ce", "deleterious_fraction", "deleterious_magnitude"]].agg(
    ["mean", "std"]).reindex(config.variants)

# %% [markdown]
# ## Kruskal–Wallis over the three main variants (last generation)

# %%
main = [v for v in ("dense", "lowrank", "small") if v in config.variants]
if len(main) >= 2:
    display(pd.DataFrame([kruskal_wallis(outcomes, main)]).set_index("variants"))
else:
    print("needs at least two of dense, lowrank, small")

# %% [markdown]
# ## Claims table
# `factorized` and `comparator` are the means over seeds; `effect` is their difference with its 95%
# bootstrap interval (`low`, `high`); `ranksums_p` and `glass_delta` are the paper's statistics.

# %%
claims = study_c_claims(outcomes)
pd.set_option("display.max_colwidth", 80)
if claims.empty:
    print("no claim can be tested with these variants")
else:
    display(claims.style.format(
        {"factorized": "{:.4f}", "comparator": "{:.4f}", "effect": "{:+.4f}", "low": "{:+.4f}",
         "high": "{:+.4f}", "ranksums_p": "{:.3g}", "glass_delta": "{:+.2f}"}).hide(axis="index"))

# %% [markdown]
# ## Summary
# Verdicts per claim (one column per factorized variant).

# %%
if not claims.empty:
    order = [c for c in dict.fromkeys(claim for claim, *_ in CLAIMS) if c in set(claims.claim)]
    display(claims.assign(variant=claims.comparison.str.split(" vs ").str[0])
            .pivot_table(index="claim", columns="variant", values="verdict", aggfunc="first").reindex(order))

# %% [markdown]
# With three seeds per variant (the `default` profile) the smallest possible two-sided rank-sum
# p-value is about 0.05 and the bootstrap interval rests on three values per group: a verdict here is
# what these scaled-down runs show, not a statement about the paper's 300 generations of 512.
