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
# # B1: lottery tickets in evolution strategies
#
# Lange & Sprekeler (ICML 2023) ask whether the lottery-ticket phenomenon of gradient descent
# carries over to evolution strategies. Their loop (`run_es.py`): train a network with an ES on
# the unpruned weights, score every weight from the **final search mean** (and, for SNR, the
# final search std), prune 20 % of the remaining kernels with **one global threshold** (biases
# are never pruned), **rewind** the survivors to their initial values θ₀, and train again with
# the search std re-initialised. They compare
#
# * **ES-IMP** ("mask/weights"): magnitude |μ|;
# * **ES-SNR**: signal-to-noise |μ| / σ, σ the strategy's per-coordinate search std;
# * **ES-Random** ("random/reinit"): a sparsity-matched random mask over all kernels with a
#   fresh initialisation;
# * two permutation controls: **mask/permuted** (the magnitude mask, θ₀'s surviving values
#   shuffled within each layer) and **permuted/permuted** (the mask shuffled within each layer too).
#
# Their claim (Fig. 1 right, Fig. 2): ES find winning tickets — sparse, rewound networks that train
# to the dense network's performance well below the sparsity where random masks fail — and SNR
# pruning finds them at higher sparsity than magnitude.
#
# **Scale.** The paper trains 20 rounds (100 % → 1.44 % of the kernels), 2,000 generations × 100
# members on Pendulum and 4,000 × 128 on MNIST per round, 5 seeds, on GPUs (the original's README:
# about 3 hours per MNIST run). The `default` profile that builds this page runs on a 2-core CPU
# (the compute cell below reports how long the runs took): fewer rounds that prune more of the
# kernels each, far fewer generations and members, the 8×8 digits of scikit-learn instead of MNIST,
# and the first few of the paper's seeds. The lines and the table below put every value next to the
# paper's.

# %% tags=["parameters"]
profile = "default"
tasks = None
strategy = None
criteria = None
rounds = None
prune_fraction = None
seeds = None
control_generations = None
control_population = None
rollouts = None
test_rollouts = None
episode_steps = None
hidden = None
vision_generations = None
vision_population = None
batch_size = None
gd_epochs = None
ppo_timesteps = None
fresh = False

# %% [markdown]
# ## Parameters
# The profile sets every parameter; anything set explicitly overrides it.

# %% tags=["hide-input"]
import textwrap

from nevolab import plotting, registry, report, store
from nevolab.studies.b import analysis as b_analysis
from nevolab.studies.b import claims as b_claims
from nevolab.studies.b import pages as b_pages
from nevolab.studies.b import runs as b_runs
from nevolab.studies.b import sentences as b_sentences

config = registry.configure_from("b1_ticket_curves", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
print(b_sentences.scale_text(config))
config.table()

# %% [markdown]
# ## Compute
# Per task, all criteria and seeds train together: every round is one compiled `lax.scan` over
# generations, `vmap`-ed over (criterion × seed); round 0, the dense network, is shared by all
# criteria (every criterion of a seed starts from the same θ₀ and sees the same ES noise, so the
# comparisons below are paired). The runs are cached under `data/results/study_b_runs/` (with a
# checkpoint after every round while they run) and shared with B2–B4; `fresh=True` recomputes them.
# The default is sized for B1–B4's shared runs (these and B2's gradient baselines) to fit a compute
# budget on a 2-core CPU; the line under the table gives the budget and says whether they did.

# %% tags=["hide-input"]
results, provenance = b_pages.page_table(config, fresh=fresh)
runs = b_runs.run_records(config)
budget = report.budget_sentence(runs, b_runs.COMPUTE_BUDGET_MIN["shared"], "B1–B4's shared runs",
                                    len(b_runs.run_configs(config)))
# Wrapped to fit the column, and written at once: separate prints can land in separate output boxes.
print(textwrap.fill(store.describe(provenance), 90, subsequent_indent="  ") + "\n"
      + textwrap.fill(budget, 90))
plotting.format_table(b_analysis.records_shown(runs, plotting.display_name)).hide(axis="index")

# %% [markdown]
# ## Figure
# Test performance of the final search mean (mean return over the test episodes; test accuracy)
# against the share of kernels the trained network keeps, mean ± standard error over seeds (the
# paper's shading). ES-IMP is the orange solid line with circles; **ES-SNR is drawn on top of it in
# blue dashes with crosses, so where the two criteria pick the same ticket the curves coincide** and
# the orange line shows through the gaps of the blue one (how often they do: the agreement table
# below). ES-Random: grey, triangles; the permutation controls dash-dotted (mask/permuted) and dotted
# (permuted/permuted).

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from nevolab.studies.b import figures as b_figures

fig = b_figures.task_curves(results, list(config.tasks), config.criteria, ncol=3)
plt.show()

# %% [markdown]
# ## How different are the SNR and magnitude tickets?
# For every round: the share of the kernels that SNR pruning keeps which magnitude pruning of the
# same final mean would keep too (mean over seeds; 1.000 means the two criteria pick the same ticket).
# Columns are the rounds, headed by the nominal share of kernels the round's network keeps (a task's
# actual share differs in the third digit where its kernel count is not divisible). For Sep-CMA-ES
# σ_i = σ·√C_ii, so the two rankings differ only as far as the diagonal covariance C has adapted —
# and its learning rate shrinks with the number of parameters.

# %% tags=["hide-input"]
agreement = b_analysis.agreement_table(results)
plotting.format_table(agreement.rename_axis(columns="kernels kept"),
                      formats=dict.fromkeys(agreement.columns, "{:.3f}"))

# %% [markdown]
# ## The claim this figure makes
# "ES find tickets": at high sparsity (rounds that keep at most 10 % of the kernels, or the last
# round if none does) the ticket criteria train to better networks than the sparsity-matched random
# re-initialisation, and SNR beats magnitude. First the raw numbers: mean test performance over those
# rounds, per criterion (mean over seeds). Then, per task and pooled: the **paired** differences (same
# seed, same θ₀) of test performance averaged over those rounds, normalised by the task's range of
# curve means (the paper's min–max normalisation); the shift is their Hodges–Lehmann pseudo-median
# with its signed-rank 95 % interval, the test a one-sided Wilcoxon signed-rank test, Holm-corrected
# over the claim's rows (its tasks and the pooled row; the same on every page). With n seeds the exact
# one-sided test cannot go below 1/2ⁿ; a row whose floor, corrected over the claim's rows, stays above
# p = 0.05 is *underpowered* (the sentence under the claims table says whether a task's row can decide
# at this page's seeds). B4 collects all claims and explains the verdict rule.
#
# Mean test performance over the high-sparsity rounds (test return; test accuracy), per criterion:

# %% tags=["hide-input"]
per_seed = b_analysis.per_seed_high_sparsity(results.assign(curve=b_analysis.curve_key(results)),
                                             "test_performance")
raw = b_analysis.high_sparsity_means(per_seed, config.criteria)
plotting.format_table(raw, formats=b_analysis.task_formats(raw.columns))

# %% [markdown]
# The claims of this page's figure, per task and pooled over tasks (shift in normalised units; Holm p
# is "–" where the sample size cannot reach p ≤ 0.05, or where the runs lack the claim's tasks):

# %% tags=["hide-input"]
stored = b_pages.figure_claims(config)  # B4's table: the same numbers on every page
claims = report.compact(stored.assign(scope=stored.scope.map(plotting.display_name)), b_claims.LABELS)
report.styled(claims.drop(columns="test") if claims.test.nunique() == 1 else claims)

# %% [markdown]
# ## What this shows at this page's scale
# The text below is written when the page is built, from this page's tables (the curves, the
# agreement table, the raw numbers and the claims): other parameters give other numbers, and the
# sentences follow them.

# %% tags=["hide-input"]
from IPython.display import Markdown

Markdown(b_sentences.ticket_findings(results, raw, per_seed, agreement, stored, config,
                                     b_pages.chance_levels(list(config.tasks)), b_claims.LABELS))
