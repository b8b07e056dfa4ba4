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
# # A2: final-loss distributions, and whether the original code's quirks matter
#
# The paper summarises each algorithm by a mean curve and a variance band. Here is the whole
# distribution of the final running-min loss over repeats, per case and algorithm. Then the
# original code's quirks (originals.md §3.3) are switched on, all together (`faithful`) and **one at
# a time** (an ablation), to see which of them changes the ranking of the algorithms; the
# algorithms are compared at **equal network evaluations** as well as at equal generations (corrected
# DE evaluates twice its population per generation, the original's DE only its offspring); and Case I
# is set beside the paper's figure and the authors' own code run on this machine.

# %% tags=["parameters"]
profile = "default"
cases = None
algorithms = None
repeats = None
lstm_repeats = None
generations = None
seed = None
quirk_cases = None
ablation_cases = None
ablation_algorithms = None
fresh = False

# %% [markdown]
# ## Parameters

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from nevolab import plotting, registry, store
from nevolab.studies.a import ablation, analysis, pages, peer
from nevolab.studies.a.cases import CASES

config = registry.configure_from("a2_final_losses", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# The runs are shared with A1 and A3 (cached per case, algorithm and quirks under
# `data/results/study_a_runs/`); this page's table of final losses is cached under
# `data/results/a2_final_losses/`. The ablation's tables and the loss curves read at equal
# evaluations come from the same cached runs.

# %% tags=["hide-input"]
final, provenance = pages.page_table(config, fresh=fresh)
print(store.describe(provenance))
quirk_runs = ablation.ablation_table(config, fresh=fresh)
# The bio-inspired runs of the final-loss table, as curves: corrected on every case, faithful on the
# quirk cases (computed above, so read from the cache).
curves = pages.code_curves(config)

# %% [markdown]
# ## Figure: final running-min loss per algorithm (corrected algorithms)
# One point per repeat; boxes show quartiles, computed on the axis's scale (logarithmic for the LSTM
# cases). The number beside each algorithm is the network evaluations one run spent. On the LSTM
# cases a cross-entropy under 1e-7 (`LOSS_FLOOR`) is float32 rounding (the gap between 1 and the next
# float32 is 1.2e-7), and some runs end at 0 or a hair below; those are drawn at the floor, in the
# grey strip.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import seaborn as sns

LOSS_FLOOR = analysis.LOSS_FLOOR

plotting.set_theme("paper")
corrected = final[final.code == "corrected"]
order = analysis.algorithm_order(config.algorithms)
palette = {a: plotting.method_color(a) for a in order}
fig, axes = plotting.grid(len(config.cases), columns=2, panel_height=0.34 * len(order) + 0.9)
for ax, case in zip(axes, config.cases):
    subset = corrected[corrected.case == case]
    log = CASES[case].kind == "lstm"
    subset = subset.assign(best_loss=subset.best_loss.clip(lower=LOSS_FLOOR)) if log else subset
    sns.boxplot(data=subset, y="algorithm", x="best_loss", order=order, hue="algorithm", palette=palette,
                ax=ax, showfliers=False, boxprops={"alpha": 0.35}, legend=False, log_scale=log, width=0.6)
    sns.stripplot(data=subset, y="algorithm", x="best_loss", order=order, hue="algorithm", palette=palette,
                  ax=ax, size=2.2, legend=False, jitter=0.2)
    low, high = subset.best_loss.min(), subset.best_loss.max()
    if log:
        ax.set_xlim(low / 2, high * 2)
        if low <= LOSS_FLOOR:
            ax.axvspan(low / 2, LOSS_FLOOR * 1.4, color="0.85", zorder=0, linewidth=0)
    else:
        pad = 0.05 * (high - low)
        ax.set_xlim(low - pad, high + pad)
    evaluations = subset.groupby("algorithm").evaluations.first()
    labels = [f"{plotting.display_name(a)}\n{evaluations.get(a, 0):,} ev." for a in order]
    ax.set_yticks(range(len(order)), labels)
    ax.set_title(CASES[case].label)
    ax.set_ylabel("")
    ax.set_xlabel("final min loss")
plt.show(plotting.finish(fig))

# %% [markdown]
# ## Do the quirks change the conclusions?
# Mean final loss of each bio-inspired algorithm with the original code's quirks (`faithful`) and
# corrected, on the quirk cases, and its rank within the case (1 = lowest loss).

# %% tags=["hide-input"]
plotting.format_table(analysis.quirk_table(final, config.quirk_cases))

# %% [markdown]
# The same as orderings, lowest mean final loss first (best first), with the pairs of algorithms
# whose order the quirks reverse:

# %% tags=["hide-input"]
rankings = ablation.ranking_by_code(final)
plotting.format_table(analysis.ranking_table(rankings))

# %% tags=["remove-input"]
Markdown(analysis.ranking_paragraph(rankings))

# %% [markdown]
# ## Which quirk flips DE against the EA? One quirk at a time
# The report finds that "EA loses to DE on FF encoding". Below, each quirk of DE and of the EA is
# switched on **alone** on the corrected code (the other algorithm stays corrected), next to both
# corrected (`none`) and both faithful (`all`): mean and median final loss of each over the repeats,
# P(DE lower) (the chance that a DE run ends below an EA run, ties half; 0.5 = no difference), and
# whether DE is lower. A ✓ in a `flips` column marks a setting whose comparison differs from the
# corrected one's.

# %% tags=["hide-input"]
pair = ("de", "ea")
have_pair = set(pair) <= set(config.ablation_algorithms)
pairs = ablation.pairwise_by_quirk(quirk_runs, *pair) if have_pair else quirk_runs.iloc[:0]
if have_pair:
    # One cell per algorithm (mean / median) keeps the table inside the page column.
    display(plotting.format_table(analysis.pair_table(pairs), rename=False))

# %% tags=["remove-input"]
Markdown(analysis.flip_paragraphs(pairs))

# %% [markdown]
# ## Equal generations, or equal network evaluations?
# Every run lasts the same number of generations (one batch each), but the algorithms spend different
# numbers of network evaluations in a generation: their population, or twice it for corrected DE,
# which scores targets and offspring on the same batch. Below, each bio-inspired algorithm's mean
# final loss at the end of its runs (equal generations) and at the **equal-evaluation budget** of its
# case: the smallest total any bio-inspired run of the case spends, computed per code. Backprop is
# left out: its evaluations are gradient steps, one per batch. The loss curves are recorded on a
# geometric grid of generations, so a run is read at its last recorded generation within the budget:
# conservative, a loss may be slightly overstated, never understated. The `generation reached` column
# is that generation (median over repeats).

# %% tags=["hide-input"]
budgets = analysis.equal_evaluation_table(curves)
for code, table in budgets.groupby("code", sort=False):
    display(Markdown(f"**{code.capitalize()} code**"))
    display(plotting.format_table(analysis.budget_display(table)))

# %% tags=["remove-input"]
Markdown(analysis.budget_list(budgets))

# %% [markdown]
# ## Case I: the paper's figure, the authors' code, NevoLab
# The paper's Case I figure (report Fig. 1a) shows mean min losses read off the plot, over 100 runs
# each. The authors' own code was run on this machine at their best configurations
# (how, in [What the original code does](originals.md), §3.6; `studies/a/peer.py` holds the
# transcribed numbers and their sources). NevoLab's runs: corrected and faithful, final running-min
# loss, the same quantity as the authors' `best result` printout. Backprop has no quirk: its faithful
# columns are its corrected runs.

# %% tags=["hide-input"]
comparison = peer.case_one_comparison(analysis.case_one_finals(final, quirk_runs)).set_index("algorithm")
plotting.format_table(analysis.case_one_table(comparison))

# %% tags=["remove-input"]
Markdown(analysis.case_one_paragraph(comparison))
