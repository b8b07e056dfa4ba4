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
# members on Pendulum and 4,000 × 128 on MNIST per round, 5 seeds, on GPUs (about 3 GPU-hours per
# MNIST run). The `default` profile that builds this page runs in about 15 minutes on a 2-core CPU:
# 7 rounds halving the kernels (100 % → 1.56 %), far fewer generations and members, the 8×8 digits
# of scikit-learn instead of MNIST, 3 of the paper's seeds. The table below puts every value next
# to the paper's.

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

# %%
from nevolab import plotting, registry, store
from nevolab.studies.b import analysis as b_analysis
from nevolab.studies.b import claims as b_claims
from nevolab.studies.b import runs as b_runs
from nevolab.studies.b import tasks as b_tasks

config = registry.configure_from("b1_ticket_curves", globals())
remaining_last = 100 * (1 - config.prune_fraction) ** (config.rounds - 1)
print(f"profile: {config.profile}   results key: {config.hash()}")
print(f"scale: {config.rounds} rounds pruning {config.prune_fraction:.0%} each "
      f"(100 % -> {remaining_last:.3g} %; "
      f"paper 20 x 20 %, 100 % -> 1.44 %), {config.seeds} seeds (paper 5); per round "
      f"{config.control_generations} generations x {config.control_population} on control "
      f"(paper 2000 x 100), {config.vision_generations} x {config.vision_population} on images "
      f"(paper 4000 x 128)")
config.table()

# %% [markdown]
# ## Compute
# Per task, all criteria and seeds train together: every round is one compiled `lax.scan` over
# generations, `vmap`-ed over (criterion × seed); round 0, the dense network, is shared by all
# criteria (every criterion of a seed starts from the same θ₀ and sees the same ES noise, so the
# comparisons below are paired). The runs are cached under `data/results/study_b_runs/` (with a
# checkpoint after every round while they run) and shared with B2–B4; `fresh=True` recomputes them.

# %%


def compute():
    return b_runs.es_runs(config, fresh=fresh)


results, provenance = store.cached(config, compute, fresh=fresh,
                                   seeds={"seeds": b_tasks.seeds_for(config.seeds)})
print(store.describe(provenance))
runs = b_runs.run_records(config)
print(f"the ES runs: {runs.wall_time_s.sum():.0f} s in all")
runs

# %% [markdown]
# ## Figure
# Test performance of the final search mean (mean return over the test episodes; test accuracy)
# against the share of kernels the trained network keeps, mean ± standard error over seeds (the
# paper's shading). Solid: the criteria; dashed: the permutation controls.

# %%
import matplotlib.pyplot as plt

plotting.set_theme()
task_list = list(config.tasks)
fig, axes = plt.subplots(1, len(task_list), figsize=(5.4 * len(task_list), 4.4), layout="constrained",
                         squeeze=False)
for ax, task in zip(axes[0], task_list, strict=True):
    rows = results[results.task_key == task]
    b_analysis.draw_curves(ax, rows, config.criteria)
    ax.set_title(b_tasks.task_title(task, rows.strategy.iloc[0]))
    ax.set_ylabel("test return" if b_tasks.task_family(task) == "gymnax" else "test accuracy")
fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=5, fontsize=8)
plt.show()

# %% [markdown]
# ## How different are the SNR and magnitude tickets?
# For every round: the share of the kernels that SNR pruning keeps which magnitude pruning of the
# same final mean would keep too (mean over seeds; 1.00 means the two criteria pick the same ticket).
# For Sep-CMA-ES σ_i = σ·√C_ii, so the two rankings differ only as far as the diagonal covariance
# C has adapted — and its learning rate shrinks with the number of parameters.

# %%
agreement = results[results.criterion == "snr"].pivot_table(
    index="task_key", columns="weights_remaining", values="snr_magnitude_agreement", aggfunc="mean")
agreement = agreement[sorted(agreement.columns, reverse=True)]
agreement.columns = [f"{c:.3g} %" for c in agreement.columns]
agreement.style.format("{:.3f}")

# %% [markdown]
# ## The claim this figure makes
# "ES find tickets": at high sparsity (rounds that keep at most 10 % of the kernels, or the last
# round if none does) the ticket criteria train to better networks than the sparsity-matched random
# re-initialisation, and SNR beats magnitude. Below, per task: the mean over seeds of the **paired**
# difference (same seed, same θ₀) of test performance averaged over those rounds, normalised by the
# task's range of curve means (the paper's min–max normalisation), with a 95 % bootstrap interval over
# seeds, Wilcoxon's signed-rank p-value and Cohen's d_z; verdict **reproduced** when the interval lies
# above zero, **not reproduced** when below, **inconclusive** otherwise. B4 collects all claims.

# %%
from IPython.display import display

per_seed = b_analysis.per_seed_high_sparsity(results.assign(curve=b_analysis.curve_key(results)),
                                          "test_performance")
raw = per_seed.pivot_table(index="task_key", columns="curve", values="test_performance", aggfunc="mean")
print("mean test performance over the high-sparsity rounds, per criterion:")
display(raw[[c for c in config.criteria if c in raw]].style.format("{:.3f}"))
claims = b_claims.study_b_claims(results)
claims = claims[~claims.claim.str.startswith("ES beats GD")]
display(claims.style.format({"effect": "{:+.3f}", "low": "{:+.3f}", "high": "{:+.3f}", "p_value": "{:.3g}",
                             "effect_size": "{:+.2f}"}).hide(axis="index"))

# %% [markdown]
# ## What this shows at the default scale
# (Read from the committed `default` results; other parameters give other numbers.)
#
# * **Tickets beat random, clearly.** On the digits, rewound ES tickets keep about 0.5 accuracy at
#   1.56 % of the kernels, where sparsity-matched random re-initialisations are at chance (0.10) from
#   3 % down; on Pendulum the tickets hold a return near −900 while random masks fall to about −1,300
#   (a swinging, never-balanced pendulum). The paper's claim reproduces on both tasks.
# * **SNR and magnitude pick the same ticket with Sep-CMA-ES here.** The agreement table is 1.00 in
#   almost every round: Sep-CMA-ES's per-coordinate std is σ·√C_ii, and in 100–200 generations on
#   1,400–4,000 parameters the diagonal C barely moves (its learning rate falls like 1/n), so
#   |μ|/(σ√C) ranks the weights like |μ|. The SNR-over-magnitude claim therefore cannot show at
#   this budget with this strategy (B4: inconclusive, effect ≈ 0). SNES adapts its std per coordinate
#   much faster: `nevolab run b1_ticket_curves -p strategy SNES` trains the same comparison with it.
# * **The dense networks are under-trained** next to the paper's (Pendulum about −600 where a
#   solved swing-up is near −150 to −200; digits 0.76 accuracy where Adam reaches 0.94, B2), the
#   price of 10–40× fewer generations. Pruning the first half of the weights hurts Pendulum at once;
#   on the digits the tickets keep the dense accuracy down to 12.5 %.
