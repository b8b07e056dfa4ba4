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
from nevolab.studies.b import runs as b_runs
from nevolab.studies.b import tasks as b_tasks

config = registry.configure_from("b1_ticket_curves", globals())
remaining_last = 100 * (1 - config.prune_fraction) ** (config.rounds - 1)
print(f"profile: {config.profile}   results key: {config.hash()}")
print(f"scale: {config.rounds} rounds pruning {config.prune_fraction:.0%} each "
      f"(100 % -> {remaining_last:.3g} %; paper 20 x 20 %, 100 % -> 1.44 %),\n"
      f"       {config.seeds} seeds (paper 5); per round {config.control_generations} generations "
      f"x {config.control_population} on control (paper 2000 x 100),\n"
      f"       {config.vision_generations} x {config.vision_population} on images (paper 4000 x 128)")
config.table()

# %% [markdown]
# ## Compute
# Per task, all criteria and seeds train together: every round is one compiled `lax.scan` over
# generations, `vmap`-ed over (criterion × seed); round 0, the dense network, is shared by all
# criteria (every criterion of a seed starts from the same θ₀ and sees the same ES noise, so the
# comparisons below are paired). The runs are cached under `data/results/study_b_runs/` (with a
# checkpoint after every round while they run) and shared with B2–B4; `fresh=True` recomputes them.
# The default is sized for B1–B4's shared runs (these and B2's gradient baselines) to take at most
# 90 minutes of compute on a 2-core CPU; the line under the table says whether they did.

# %% tags=["hide-input"]


def compute():
    return b_runs.es_runs(config, fresh=fresh)


results, provenance = store.cached(config, compute, fresh=fresh)
# Wrapped to fit the column, and written at once: a separate newline can land in its own output box.
print(textwrap.fill(store.describe(provenance), 90, subsequent_indent="  ") + "\n", end="")
runs = b_runs.run_records(config)
print(textwrap.fill(b_runs.budget_sentence(runs, b_runs.COMPUTE_BUDGET_MIN["shared"], "B1–B4's shared runs",
                                           len(b_runs.run_configs(config))), 90))
plotting.format_table(runs.assign(task=runs.task.map(plotting.display_name),
                                  minutes=runs.wall_time_s / 60.0,
                                  date=runs.date.str.slice(0, 16).str.replace("T", " "))
                      .drop(columns="wall_time_s")).hide(axis="index")

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

plotting.set_theme("paper")
task_list = list(config.tasks)
fig, axes = plotting.grid(len(task_list), panel_height=3.0)
for ax, task in zip(axes, task_list, strict=True):
    rows = results[results.task_key == task]
    b_analysis.draw_curves(ax, rows, config.criteria)
    ax.set_title(b_tasks.task_title(task, rows.strategy.iloc[0]))
    ax.set_ylabel("test return (mean over test episodes)" if b_tasks.task_family(task) == "gymnax"
                  else "test accuracy (fraction correct)")
plotting.figure_legend(fig, axes, ncol=3)
plotting.finish(fig)
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
snr_rows = results[results.criterion == "snr"]
agreement = snr_rows.pivot_table(index="task_key", columns="round", values="snr_magnitude_agreement",
                                 aggfunc="mean")
nominal = snr_rows.groupby("round").weights_remaining_nominal.first()
agreement.columns = [f"{nominal[r]:.3g} %" for r in agreement.columns]
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
# over the page. With n seeds the exact one-sided test cannot go below 1/2ⁿ, so with four seeds or
# fewer a single task cannot reach p ≤ 0.05: its row is *underpowered*, its interval unbounded (±∞),
# and only the pooled row can decide. B4 collects all claims and explains the verdict rule.
#
# Mean test performance over the high-sparsity rounds (test return; test accuracy), per criterion:

# %% tags=["hide-input"]
per_seed = b_analysis.per_seed_high_sparsity(results.assign(curve=b_analysis.curve_key(results)),
                                          "test_performance")
raw = per_seed.pivot_table(index="curve", columns="task_key", values="test_performance", aggfunc="mean")
raw = raw.reindex([c for c in config.criteria if c in raw.index]).rename_axis(index="criterion",
                                                                               columns=None)
plotting.format_table(raw, formats={task: "{:.0f}" if b_tasks.task_family(task) == "gymnax" else "{:.3f}"
                                    for task in raw.columns})

# %% [markdown]
# The claims, per task and pooled over tasks (shift in normalised units; Holm p is "–" where the
# sample size cannot reach p ≤ 0.05):

# %% tags=["hide-input"]
stored, _ = b_claims.stored_claims(config)  # B4's table: the same numbers on every page
stored = stored[stored.claim != "es_beats_gd_sparse"]
claims = report.compact(stored.assign(scope=stored.scope.map(plotting.display_name)), b_claims.LABELS)
report.styled(claims.drop(columns="test") if claims.test.nunique() == 1 else claims)

# %% [markdown]
# ## What this shows at this page's scale
# The text below is written when the page is built, from this page's tables (the curves, the
# agreement table, the raw numbers and the claims): other parameters give other numbers, and the
# sentences follow them.

# %% tags=["hide-input"]
import numpy as np
from IPython.display import Markdown

from nevolab import datasets

show, joined = b_analysis.performance_text, report.joined


def pooled(claim):
    """The claim's pooled row, or its only row when the page has a single task."""
    rows = stored[stored.claim == claim]
    rows = rows[rows.scope == "all tasks"] if (rows.scope == "all tasks").any() else rows
    return None if rows.empty else rows.iloc[0]


def verdict(claim):
    row = pooled(claim)
    if row is None:
        return f"{b_claims.LABELS[claim]}: not tested here"
    text = (f"{b_claims.LABELS[claim]}, shift {report.interval(row.effect, row.low, row.high)} → "
            f"**{row.verdict}**, {row.verdict_reason}")
    # A p-value at the floor of the exact test says the seeds are as separated as they can be: only
    # more seeds (or fewer tests in the Holm family) can move the verdict.
    if row.verdict == "inconclusive" and row.p_value <= row.min_p * (1 + 1e-9):
        text += f", where p = {report.p_value(row.p_value)} before Holm is the smallest that {row.n} can give"
    return text


names = {task: plotting.display_name(task) for task in task_list}
curve_means = results.assign(curve=b_analysis.curve_key(results)).pivot_table(
    index="round", columns=["task_key", "curve"], values="test_performance", aggfunc="mean")
kept = results.groupby("round").weights_remaining_nominal.first()
high_rounds = b_analysis.high_sparsity_rounds(results)
high_span = " to ".join(dict.fromkeys(f"{kept[r]:.3g} %" for r in (high_rounds[0], high_rounds[-1])))
per_task_underpowered = stored[(stored.scope != "all tasks") & (stored.verdict == "underpowered")]
bullets = []

tickets = [c for c in ("snr", "magnitude") if c in raw.index]
if tickets and "random" in raw.index:
    parts = []
    for task in [t for t in task_list if t in raw.columns]:
        numbers = ", ".join(f"{plotting.display_name(c)} {show(task, raw.at[c, task])}" for c in tickets)
        numbers += f" against ES-Random {show(task, raw.at['random', task])}"
        if b_tasks.task_family(task) == "vision":
            chance = 1 / datasets.load_dataset(task, download=False).num_classes
            numbers += f" (test accuracy; chance is {chance:.2f})"
        else:
            numbers += " (test return)"
        parts.append(f"{names[task]}: {numbers}")
    ahead = [names[t] for t in raw.columns if all(raw.at[c, t] > raw.at["random", t] for c in tickets)]
    by_seed = per_seed.pivot_table(index=["task_key", "seed"], columns="curve", values="test_performance")
    seeds_ahead = by_seed[tickets].gt(by_seed["random"], axis=0).all(axis=1)
    if len(ahead) == len(raw.columns):
        head = "Tickets beat random" + (" on every task" if len(ahead) > 1 else "")
    else:
        head = f"Tickets beat random on {joined(ahead)} only" if ahead else "Tickets do not beat random here"
    seeds_text = ("in every seed of every task" if seeds_ahead.all()
                  else f"in {seeds_ahead.sum()} of the {seeds_ahead.size} (task, seed) pairs")
    bullets.append(
        f"**{head}.** Mean test performance over the rounds that keep {high_span} of the kernels "
        f"(the raw table above): {'; '.join(parts)}. Both ticket criteria are above ES-Random "
        f"{seeds_text}. The verdicts are the pooled rows of the claims table"
        + (f" (a single task's {config.seeds} seeds cannot reach p ≤ 0.05)" if len(per_task_underpowered)
           else "")
        + ": " + "; ".join(verdict(c) for c in ("tickets_beat_random_snr", "tickets_beat_random_imp")) + ".")

if "snr" in set(results.criterion) and "magnitude" in set(results.criterion):
    same = np.isclose(agreement.to_numpy(), 1.0)
    strategy_name = plotting.display_name(config.strategy)
    mostly_same = same.mean() >= 0.5
    how = "the same" if same.all() else "almost the same" if mostly_same else "different"
    text = (f"**SNR and magnitude pick {how} tickets with "
            f"{strategy_name} here.** The agreement table is 1.000 in {same.sum()} of its {same.size} "
            f"cells and never below {agreement.min().min():.3f}.")
    if mostly_same and config.strategy == "Sep_CMA_ES":
        first = results[results["round"] == 0].groupby("task_key")[["generations", "num_genes"]].max()
        span = {col: "–".join(dict.fromkeys(f"{v:,.0f}" for v in (first[col].min(), first[col].max())))
                for col in first}
        text += (f" Sep-CMA-ES's per-coordinate std is σ·√C_ii, and in {span['generations']} generations "
                 f"on {span['num_genes']} parameters the diagonal C barely moves (its learning rate falls "
                 "like 1/n), so |μ|/(σ√C) ranks the weights like |μ|.")
    if mostly_same:
        text += " The SNR-over-magnitude claim therefore cannot show at this budget with this strategy."
    text += f" {verdict('snr_beats_magnitude')}."
    if config.strategy != "SNES":
        text += (" SNES adapts its std per coordinate much faster: `.venv/bin/nevolab run b1_ticket_curves "
                 f"--profile {config.profile} -p strategy SNES` (from the repository root) trains the same "
                 "comparison with it.")
    bullets.append(text)

if "magnitude" in raw.index:
    ratios = [b_tasks.PAPER_BUDGET[b_tasks.task_family(t)][0] / b_tasks.budget(t, config)[0]
              for t in task_list]
    low, high = min(ratios), max(ratios)
    fewer = (f"{low:.0f}×" if np.isclose(low, high) else f"{low:.0f}–{high:.0f}×") + " fewer"
    shown_rounds = list(dict.fromkeys([0, 1, int(kept.index.max())]))
    paths = []
    for task in task_list:
        path = curve_means[(task, "magnitude")]
        paths.append(f"{names[task]} " + ", ".join(
            f"{show(task, path[r])} {'dense' if r == 0 else f'at {kept[r]:.3g} %'}" for r in shown_rounds))
    text = (f"**The dense networks are trained with {fewer} generations per round than the paper's**"
            if high > 1 else "**The dense networks get the paper's generations per round**")
    bullets.append(text + f" (B2 sets them next to gradient descent on the same networks). ES-IMP's "
                   f"test performance along the pruning rounds: {'; '.join(paths)}.")

Markdown("\n".join(f"* {bullet}" for bullet in bullets))
