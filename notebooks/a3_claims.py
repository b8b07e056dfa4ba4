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
# Each claim of Gobbi & Konotopska, made measurable (the operational definitions are in the
# docstring of `nevolab.studies.a.claims.study_a_claims`) and tested on the final running-min
# losses of all six cases and seven algorithms: the effect (a difference of mean final losses), a
# 95% percentile-bootstrap interval, a Mann–Whitney U p-value and Cliff's δ, and a verdict computed
# by the shared rule in `nevolab.stats`: **reproduced** when the interval excludes zero in the
# claimed direction, **not reproduced** when it excludes zero in the other, **inconclusive** otherwise.

# %% tags=["parameters"]
profile = "default"
cases = None
algorithms = None
repeats = None
lstm_repeats = None
generations = None
seed = None
faithful = None
fresh = False

# %% [markdown]
# ## Parameters

# %%
from nevolab import registry, store
from nevolab.studies.a import claims as study_a_claims
from nevolab.studies.a import runs

config = registry.configure_from("a3_claims", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# The runs are shared with A1 and A2 (cached per case and algorithm under `data/results/study_a_runs/`).

# %%
def compute():
    return runs.final_losses(runs.curves(runs.run_configs(config), fresh=fresh))


final, provenance = store.cached(config, compute, fresh=fresh,
                                 seeds={"master_seed": config.seed, "data_seed": 1337})
print(f"computed on {provenance['machine']['cpu']}, {provenance['date']}")

# %% [markdown]
# ## Claims table

# %%
import pandas as pd

claims = study_a_claims.study_a_claims(final, seed=config.seed)
pd.set_option("display.max_colwidth", 120)
claims.style.format({"effect": "{:+.4f}", "low": "{:+.4f}", "high": "{:+.4f}", "p_value": "{:.2g}",
                     "effect_size": "{:+.2f}"}).hide(axis="index")

# %% [markdown]
# ## Summary

# %%
claims["family"] = claims.claim.str.split(" — ").str[0]
claims.groupby("family").verdict.value_counts().unstack(fill_value=0)
