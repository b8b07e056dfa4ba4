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
# distribution of the final running-min loss over repeats, per case and algorithm, next to the
# network evaluations each run spent. Then the original code's quirks (CoSyNE mutating rows by index;
# the EA mutating with probability 1−p and preferring high loss in fitness-proportional selection; DE
# comparing offspring with stale fitness) are switched on (`faithful=True`) to see whether they
# change the ranking of the algorithms.

# %% tags=["parameters"]
profile = "default"
cases = None
algorithms = None
repeats = None
lstm_repeats = None
generations = None
seed = None
quirk_cases = None
fresh = False

# %% [markdown]
# ## Parameters

# %%
from nevolab import plotting, registry, store
from nevolab.studies.a import runs
from nevolab.studies.a.cases import ALGORITHMS, CASES

config = registry.configure_from("a2_final_losses", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# The runs are shared with A1 and A3 (cached per case and algorithm under `data/results/study_a_runs/`);
# this page's table of final losses is cached under `data/results/a2_final_losses/`.

# %%


def compute():
    return runs.final_losses_by_code(config, fresh=fresh)


final, provenance = store.cached(config, compute, fresh=fresh,
                                 seeds={"master_seed": config.seed, "data_seed": 1337})
print(store.describe(provenance))

# %% [markdown]
# ## Figure: final running-min loss per algorithm (corrected algorithms)
# One point per repeat; boxes show quartiles. The number under each algorithm is the network
# evaluations one run spent.

# %%
import matplotlib.pyplot as plt
import seaborn as sns

plotting.set_theme()
corrected = final[final.code == "corrected"]
columns = min(3, len(config.cases))
rows = -(-len(config.cases) // columns)
fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.8 * rows), squeeze=False)
order = [a for a in ALGORITHMS if a in config.algorithms]
palette = {a: plotting.method_color(a) for a in order}
for ax, case in zip(axes.flat, config.cases):
    subset = corrected[corrected.case == case]
    sns.boxplot(data=subset, x="algorithm", y="best_loss", order=order, hue="algorithm", palette=palette,
                ax=ax, showfliers=False, boxprops={"alpha": 0.35}, legend=False)
    sns.stripplot(data=subset, x="algorithm", y="best_loss", order=order, hue="algorithm", palette=palette,
                  ax=ax, size=2.5, legend=False)
    evaluations = subset.groupby("algorithm").evaluations.first()
    ax.set_xticks(range(len(order)),
                  [f"{a}\n{evaluations.get(a, 0):,}" for a in order], rotation=45, fontsize=8)
    ax.set_title(CASES[case].label)
    ax.set_xlabel("")
    ax.set_ylabel("final min loss")
    if CASES[case].kind == "lstm":
        ax.set_yscale("log")
for ax in axes.flat[len(config.cases):]:
    ax.set_visible(False)
plt.show()

# %% [markdown]
# ## Do the quirks change the conclusions?
# Mean final loss per algorithm with the original code's quirks (`faithful`) and corrected, and the
# rank of each algorithm among the bio-inspired ones within a case. A quirk "matters" for a case
# when the ranking changes.

# %%
means = final.groupby(["case", "algorithm", "code"]).best_loss.mean().unstack("code")
quirk_table = means.loc[[c for c in config.quirk_cases if c in means.index.get_level_values(0)]].dropna()
if not quirk_table.empty:
    quirk_table["faithful / corrected"] = quirk_table["faithful"] / quirk_table["corrected"]
    quirk_table["rank corrected"] = quirk_table.groupby(level="case").corrected.rank()
    quirk_table["rank faithful"] = quirk_table.groupby(level="case").faithful.rank()
    changed = quirk_table.groupby(level="case").apply(
        lambda t: bool((t["rank corrected"] != t["rank faithful"]).any()))
    print("ranking changes with the quirks:", {case: bool(v) for case, v in changed.items()})
quirk_table
