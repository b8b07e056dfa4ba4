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
# # A3: the paper's claims, tested
#
# Each claim of Gobbi & Konotopska in the paper's own words, made measurable, and tested on the final
# running-min losses of every case and algorithm under **both modes**: `faithful` (the original
# code's quirks, which the authors tuned their hyperparameters on) and `corrected` (the algorithms
# as described). Claims between bio-inspired algorithms are also compared at **equal network
# evaluations**, since corrected DE evaluates twice its population per generation.
#
# Every verdict follows the rule on [How we decide](../book/how_we_decide.md): a Hodges–Lehmann
# shift of final loss with its distribution-free 95% interval, a one-sided rank test
# Holm-corrected over this page, and equivalence-type tests (with the margin stated, derived from
# the paper's own figure) for the claims that say two things are alike.

# %% tags=["parameters", "hide-cell"]
profile = "default"
cases = None
algorithms = None
repeats = None
lstm_repeats = None
generations = None
seed = None
modes = None
fresh = False

# %% [markdown]
# ## Parameters

# %% tags=["hide-input"]
from nevolab import registry, report, store
from nevolab.studies.a import claims as a_claims
from nevolab.studies.a import paper, runs

config = registry.configure_from("a3_claims", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# The runs are shared with A1 and A2 (cached per case, algorithm and mode under
# `data/results/study_a_runs/`); this page stores its claims table under `data/results/a3_claims/`.

# %% tags=["hide-input"]
def compute():
    all_runs = runs.run_configs(config)
    curves_by_mode = {}
    for mode in config.modes:
        chosen = [run for run in all_runs
                  if run.faithful == (mode == "faithful") or run.algorithm == "backprop"]
        curves_by_mode[mode] = runs.curves(chosen, fresh=fresh)
    return a_claims.study_a_claims(a_claims.claims_input(curves_by_mode), seed=config.seed)


claims, provenance = store.cached(config, compute, fresh=fresh,
                                  seeds={"master_seed": config.seed, "data_seed": 1337})
print(store.describe(provenance))

# %% [markdown]
# ## The claims, as the paper words them
# δ is the margin of a "no difference" claim: the largest gap of that kind in the paper's own
# figure (read from the original repository's plots), so a claim is held to the paper's scale.

# %% tags=["hide-input"]
import pandas as pd

sentences = pd.DataFrame([
    {"claim": c.key, "the paper says": f"“{c.sentence}”", "tested as": c.operationalisation,
     "δ": report.number(paper.margin(c.key), 2).lstrip("+") if c.key in a_claims.MARGIN_CLAIMS else "–"}
    for c in paper.CLAIMS])
report.styled(sentences)

# %% [markdown]
# ## Verdicts under both modes
# One row per claim and scope: the verdict with the original code's quirks (`faithful`) and with
# the algorithms as described (`corrected`).

# %% tags=["hide-input"]
side_by_side = a_claims.modes_side_by_side(claims)
report.styled(side_by_side)

# %% [markdown]
# ## Where the modes disagree

# %% tags=["hide-input"]
from IPython.display import Markdown, display

disagree = side_by_side[side_by_side.agree == "no"]
if disagree.empty:
    display(Markdown("Under this profile no verdict depends on the mode."))
else:
    lines = [f"- **{row.claim}**, {row.scope}: faithful *{row.faithful}*, corrected *{row.corrected}*"
             for row in disagree.itertuples()]
    display(Markdown(f"{len(disagree)} of {len(side_by_side)} verdicts change with the quirks:\n\n"
                     + "\n".join(lines) + "\n\nA2's one-quirk-at-a-time ablation names the quirk "
                     "responsible for each (see [A2](a2_final_losses.ipynb))."))

# %% [markdown]
# ## Every test
# Shift = Hodges–Lehmann estimate of (first − second) final loss; negative means the first-named
# is lower. For the "gap widens" claims it is a contrast of medians with a bootstrap interval.

# %% tags=["hide-input"]
report.styled(report.compact(claims))

# %% [markdown]
# ## Summary

# %% tags=["hide-input"]
from myst_nb import glue

counts = report.verdict_counts(claims)
for mode, row in counts.iterrows():
    for verdict, count in row.items():
        glue(f"a3_{mode}_{verdict.replace(' ', '_')}", int(count), display=False)
glue("a3_total", len(claims), display=False)
glue("a3_disagree", len(disagree), display=False)
glue("a3_compared", int((side_by_side.agree != "–").sum()), display=False)
counts
