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
# C2, and beside them the verdict by the rule of [How we decide](how_we_decide.md): a Hodges–Lehmann
# shift (factorized − comparator) with its distribution-free 95% interval and a one-sided Mann–Whitney
# test, Holm-corrected over each claim's scopes (its comparisons, the same wherever the claim is shown).
# Claims 1 and 2 say "outperforms or is competitive"; the verdict tests "outperforms", so *inconclusive*
# there means "no difference detectable at this scale", not a refutation. None of these claims is about
# the end of the paper's runs or names a setting we lack (unlike C5's equal final score), so none
# declares a scale: each verdict is that of this page's scale, printed below.
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
heldout_sequences = None
heldout_every = None
rank = None
embedding_rank = None
mutation_rate = None
num_blocks = None
fresh = False

# %% [markdown]
# ## Parameters

# %% tags=["hide-input"]
from nevolab import registry, store
from nevolab.studies.c import analysis, pages
from nevolab.studies.c.claims import kruskal_wallis, outcomes_with_matched_fitness
from nevolab.studies.c.runs import runs_for_config

config = registry.configure_from("c3_claims", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
print(analysis.lm_scale_line(config))
config.table()

# %% [markdown]
# ## Compute
# The runs are C1's and C2's (cached per variant under `data/results/study_c_runs/`); this page's
# claims table is stored under `data/results/c3_claims/`.

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import HTML, Markdown, display

outcomes = outcomes_with_matched_fitness(runs_for_config(config, fresh=fresh)[0])
claims, provenance = pages.claims(config, fresh=fresh)
print(store.describe(provenance))
outcomes.groupby("variant")[["final_neg_ce", "deleterious_fraction", "deleterious_magnitude"]].agg(
    ["mean", "std"]).reindex(config.variants)

# %% [markdown]
# ## The claims, as the paper words them

# %% tags=["hide-input"]
from nevolab import report
from nevolab.studies.c import paper as c_paper

report.styled(analysis.claim_statements(c_paper.CLAIMS))

# %% [markdown]
# ## Kruskal–Wallis over the three main variants (last generation)

# %% tags=["hide-input"]
main = [v for v in ("dense", "lowrank", "small") if v in config.variants]
if len(main) >= 2:
    display(pd.DataFrame([kruskal_wallis(outcomes, main)]).set_index("variants"))
else:
    print("needs at least two of dense, lowrank, small")

# %% [markdown]
# ## Claims table
# The verdict columns first; `ranksums_p` and `glass_delta` are the paper's own statistics.

# %% tags=["hide-input"]
from myst_nb import glue

if claims.empty:
    print("no claim can be tested with these variants")
else:
    display(report.styled(analysis.shown_claims(claims)))
counts = claims.verdict.value_counts() if not claims.empty else pd.Series(dtype=int)
for verdict in ("reproduced", "not reproduced", "inconclusive", "underpowered", "not tested at scale"):
    glue(f"c3_{verdict.replace(' ', '_')}", int(counts.get(verdict, 0)), display=False)
glue("c3_total", len(claims), display=False)
for name in ("population", "elites", "generations", "num_sequences", "sequence_length", "seeds"):
    glue(f"c3_{name}", int(config.values[name]), display=False)  # the chapter page states the scale
glue("c3_vocabulary", pages.vocabulary(config), display=False)
glue("c3_findings", HTML(report.as_html(report.findings(claims))), display=False)

# %% [markdown]
# ## Reading the table

# %% tags=["hide-input"]
if not claims.empty:
    display(Markdown(analysis.reading_lines(claims)))
