"""Self-supervised embeddings of neural states: reach direction (Chewie, 100 ms, speed > 5,
test trials) and sleep state (mouse CA1, test split) from BYOL, MYOW, CEBRA-Time and
CEBRA-Time with neuron dropout, beside a supervised MLP and the raw-rate logistic baseline.

Recipe (after MYOW): rates z-scored with training statistics (silent units dropped); the
self-supervised encoders are fitted on train + validation *neural data* (no labels), as
MYOW pre-trains on "trainval"; every readout is fitted on the training labels with its
regularisation chosen on the validation split, and scored on the test split. Readouts:
logistic regression (class-balanced for sleep), kNN, and for reaching MYOW's angle accuracy
(linear (cos, sin) readout, correct within pi/8). Every encoder is a per-bin MLP; reaching
trials keep 3–9 bins, so trials are passed as ``trial_ids`` (views never cross a trial; MYOW
mines only other trials).

MYOW's recipe on reaching is the one of ``nerdslab/myow-neuro``'s reaching script, the MYOW
authors' script for these very files (:data:`NEURO_MYOW`: a 3 x 64 BatchNorm MLP, Adam with a
cosine schedule over its own 10,000 steps, a fixed target EMA, light dropout, pepper and noise
of raw rates), the first single-bin recipe above the raw rates on both Chewie days with every
trial tested (``docs/ssl_neural_by_trial.md``: each of 3 seeds above on both days); on sleep
states it is ``nerdslab/myow``'s rodent script (the estimator's defaults: a 32-D GELU MLP,
Adam). ``--myow-recipe monkey-reach`` uses ``nerdslab/myow``'s monkey-reach script on reaching
instead (:data:`REACHING_MYOW`: a 128-D BatchNorm MLP, LARS, views within +-5 bins, the
reaching recipe of sessions 12-17) and ``--myow-recipe rodent`` the rodent script everywhere.
The other encoders are the 32-D offset1-model.

The fixed split tests only 16–18 trials per reaching session (an accuracy's standard error
is ~0.05 or more), so ``--by-trial`` also tests every trial once: 10 contiguous blocks of
trials, each scored by a readout trained on the others with an encoder refitted without it
(10 fits per method and seed; its last block is the fixed split); it writes
``ssl_neural_by_trial``.

Every fit runs ``--steps`` steps; without the option 3000, and MYOW on reaching its recipe's
``max_iterations`` (10,000 for :data:`NEURO_MYOW`).

``--myow-params '{"learning_rate_schedule": "cosine", ...}'`` changes MYOW's settings (JSON,
MYOW's constructor names; ``augmentations`` as a spec list of :mod:`neurolatent.augment`, where
a dropout's ``"silence": "zero rate"`` makes dropped units silent and a noise ``sigma`` or
pepper ``c`` of ``"1.5 Hz"`` is 1.5 Hz of each unit's rate) to try a recipe; ``--tag NAME``
then writes the report under its own name (``ssl_neural_by_trial_NAME``) instead of replacing
the default one. ``--tasks`` runs some tasks only (a recipe tried on one session).
``--merge`` adds this run's fits to the stored report of the same name and settings (the
by-trial report takes hours per seed and session: it can be built over several runs).

    python benchmarks/ssl_neural.py [--quick] [--steps N] [--seeds 3] [--methods MYOW ...]
                                    [--by-trial] [--jobs 2] [--myow-params JSON] [--tag NAME]
                                    [--myow-recipe {neuro,monkey-reach,rodent}]
                                    [--tasks TASK ...] [--first-seed N] [--merge]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

NAME = "ssl_neural"
SOURCE_BASELINES = {"chewie_20131003": 0.646, "chewie_20131219": 0.747, "mouse_ca1": 0.909}
TARGETS = {"chewie_20131003": "raw", "chewie_20131219": "raw", "mouse_ca1": 0.91}
METHODS = ("MYOW", "BYOL", "CEBRA-Time", "CEBRA-Time + dropout")
FOLDS = 10  # trial blocks of --by-trial: the last is the fixed 80 / 10 / 10 split
STEPS = 3000  # a fit's steps without --steps (MYOW on reaching: its recipe's max_iterations)
# MYOW on reaching with --myow-recipe monkey-reach: nerdslab/myow's monkey-reach script (its
# encoder, optimiser, sizes, loss weights and views; its silent dropped units and Gaussian
# noise left out, both measured worse or no better here). Every trial tested, seeds 0-4:
# 0.693 / 0.674, 0.660 / 0.657, 0.678 / 0.665, 0.661 / 0.651 and 0.675 / 0.675 (median
# 0.675 / 0.665), against the rodent defaults' 0.639 / 0.634 (seed 0) and the raw rates'
# 0.669 / 0.689.
REACHING_MYOW = {
    "model_architecture": "offset1-model-bn-mse", "num_hidden_units": 128,
    "output_dimension": 128, "projection_dim": 32, "hidden_dim": 256, "batch_size": 256,
    "optimizer": "lars", "learning_rate": 0.8, "optimizer_kwargs": {"weight_decay": 1e-6},
    "learning_rate_schedule": "cosine", "warmup_iterations": 100,
    "tau_base": 0.9, "mined_weight": 0.1, "num_neighbors": 3, "shared_augmentation": True,
    "augmentations": [["TemporalJitter", {"k": 5}],
                      ["RandomizedNeuronDropout", {"p_max": 0.8, "apply_p": 0.9}]],
}

# MYOW on reaching (the default, --myow-recipe neuro): nerdslab/myow-neuro's train_monkey.py,
# the authors' script for these very files (100 ms, speed > 5): a 3 x 64 BatchNorm MLP to
# 64-D, identity projector, Adam at 2e-4 (weight decay 2e-5) with 100 warm-up steps and a
# cosine decay, run for 10,000 steps (its 10,000 epochs are one batch of 512 each), a fixed
# target EMA of 0.98, mined weight 0.5 after 10 steps, 5 neighbours among ~all fitted bins,
# mined heads 32 wide 256, views within +-2 bins with independent draws, and its
# augmentations of raw rates (z-scored afterwards): up to 20 % of the units silenced, 1.5 Hz
# pepper on 30 % of the units and 1.5 Hz Gaussian noise, each on half the samples. Left
# out: its PReLU activations (ours are ReLU), views only ahead (0..+2; ours +-2, the loss is
# symmetrised anyway), AdamW's decoupled decay, mining by the online representation of the
# anchor. Every trial tested: day 1 seeds 0-2 0.703, 0.706, 0.697 (median 0.703); day 2
# seeds 0-2 0.681, 0.710, 0.701 (median 0.701); raw rates 0.669 / 0.689.
NEURO_MYOW = {
    "max_iterations": 10_000, "model_architecture": "offset1-model-bn-mse",
    "num_hidden_units": 64, "output_dimension": 64, "hidden_dim": 256, "mined_dim": 32,
    "batch_size": 512,
    "learning_rate": 2e-4, "learning_rate_schedule": "cosine", "warmup_iterations": 100,
    "tau_base": 0.98, "tau_schedule": "constant", "mined_weight": 0.5, "mined_warmup": 10,
    "num_neighbors": 5, "num_candidates": 1024, "shared_augmentation": False,
    "augmentations": [["TemporalJitter", {"k": 2}],
                      ["RandomizedNeuronDropout",
                       {"p_max": 0.2, "apply_p": 1.0, "silence": "zero rate"}],
                      ["Pepper", {"p": 0.3, "c": "1.5 Hz", "apply_p": 0.5}],
                      ["GaussianNoise", {"sigma": "1.5 Hz", "apply_p": 0.5}]],
}
RECIPES = {"neuro": NEURO_MYOW, "monkey-reach": REACHING_MYOW, "rodent": {}}
# --merge adds runs to a stored report only if it was written with these settings
MERGE_SAME = ("quick", "steps", "myow_recipe", "myow_params")


def _reaching_recipe(options) -> dict:
    """MYOW's recipe on reaching before ``--myow-params``: ``--myow-recipe``'s choice."""
    return RECIPES[options.myow_recipe]


def _reaching_settings(options) -> dict:
    """MYOW's settings on reaching in this run: the recipe, then ``--myow-params``."""
    return {**_reaching_recipe(options), **(options.myow_params or {})}


def _tasks(quick: bool, reaching_myow: dict) -> list[dict]:
    from neurolatent.datasets import monkey_reaching, sleep_states

    tasks = []
    for session in ("chewie_20131003",) if quick else ("chewie_20131003", "chewie_20131219"):
        data = monkey_reaching(session)
        tasks.append({"task": session, "neural": data.neural, "label": data.direction,
                      "angle": data.angle, "trial": data.trial,
                      "masks": (data.train_mask, data.val_mask, data.test_mask),
                      "balanced": False, "exclude_window": 0, "warmup": 200,
                      "myow": reaching_myow})
    if not quick:
        data = sleep_states("mouse_ca1")
        tasks.append({"task": "mouse_ca1", "neural": data.neural, "label": data.state,
                      "angle": None, "trial": None,
                      "masks": (data.train_mask, data.val_mask, data.test_mask),
                      "balanced": True, "exclude_window": 150, "warmup": 500, "myow": {}})
    return tasks


def standardise(task: dict) -> np.ndarray:
    """z-score with training statistics; units silent in training are dropped (MYOW).

    Also stores, per kept unit, the z-score of zero activity as ``task["silence"]`` (what a
    dropout augmentation writes for a silent neuron in ``"silence": "zero rate"`` recipes)
    and the training standard deviation as ``task["std"]`` (``"1.5 Hz"`` recipes)."""
    from neurolatent.augment import silence_of

    train = task["masks"][0]
    X = task["neural"]
    std = X[train].std(0)
    keep = std > 0
    mean = X[train][:, keep].mean(0)
    task["silence"] = silence_of(mean, std[keep])
    task["std"] = std[keep].astype(float).tolist()
    return ((X[:, keep] - mean) / std[keep]).astype(np.float32)


def _in_task_units(name: str, value, task: dict):
    """A spec field of the recording's units on the z-scored rates: ``"zero rate"`` (a
    dropout's ``silence``) is the z-score of silence per unit, ``"<x> Hz"`` (noise ``sigma``,
    pepper ``c``) is x / std per unit; anything else is left as it is."""
    if not isinstance(value, str):
        return value
    if name == "silence" and value == "zero rate":
        return task["silence"]
    match = re.fullmatch(r"\s*([0-9.eE+-]+)\s*Hz\s*", value)
    if name in ("sigma", "c") and match:
        return [float(match[1]) / std for std in task["std"]]
    raise ValueError(f"augmentations: {name}={value!r}; only a dropout's silence may be "
                     "'zero rate' and only noise sigma or pepper c may be '<number> Hz'.")


def _recipe(params: dict | None, task: dict) -> dict:
    """MYOW settings from ``--myow-params``: an ``augmentations`` entry is a spec list
    (:func:`neurolatent.augment.to_spec`'s form) whose fields may be in the recording's units
    (:func:`_in_task_units`: ``"silence": "zero rate"``, ``"sigma": "1.5 Hz"``)."""
    from neurolatent.augment import from_spec

    params = dict(params or {})
    if params.get("augmentations") is not None:
        spec = [[name, {key: _in_task_units(key, value, task) for key, value in fields.items()}
                 if isinstance(fields, dict) else fields]
                for name, fields in params["augmentations"]]
        params["augmentations"] = from_spec(spec)
    return params


def raw_rate_baseline(task: dict, Z: np.ndarray) -> float:
    """The SOURCE.md recipe: logistic regression on z-scored rates, C by validation."""
    from neurolatent import decode_linear

    train, valid, test = task["masks"]
    y = task["label"]
    result = decode_linear(Z[train], y[train], Z[test], y[test], valid=(Z[valid], y[valid]),
                           penalties=(1e-3, 1e-2, 0.1, 1.0, 10.0), balanced=task["balanced"])
    return float(result["accuracy"])


def windowed_rates(Z: np.ndarray, trial: np.ndarray, size: int) -> np.ndarray:
    """The rates of each bin's window of ``size`` bins side by side, (T, size * N): the
    input a ``size``-bin encoder reads. Windows follow the encoders' convention (``size //
    2`` bins before the bin) and ``transform``'s padding: each trial repeats its first and
    last bin, so no window reads another trial.

    >>> Z = np.arange(5.0)[:, None]
    >>> windowed_rates(Z, np.array([0, 0, 0, 1, 1]), 3).tolist()
    [[0.0, 0.0, 1.0], [0.0, 1.0, 2.0], [1.0, 2.0, 2.0], [3.0, 3.0, 4.0], [3.0, 4.0, 4.0]]
    """
    from neurolatent.models import ReceptiveField
    from neurolatent.recording import trial_bounds

    rf = ReceptiveField.centred(size)
    t = np.arange(len(Z))
    first, last = np.empty_like(t), np.empty_like(t)
    for start, stop in trial_bounds(np.asarray(trial)):
        first[start:stop], last[start:stop] = start, stop - 1
    return np.concatenate([Z[np.clip(t + lag, first, last)]
                           for lag in range(-rf.left, rf.right)], axis=1)


def _myow_window(options) -> int:
    """The receptive field (bins) of MYOW's reaching encoder in this run."""
    from neurolatent import MYOW
    from neurolatent.models import MODELS

    name = _reaching_settings(options).get("model_architecture", MYOW().model_architecture)
    return MODELS[name]["receptive_field"]


def supervised_mlp(task: dict, Z: np.ndarray, seed: int) -> float:
    """A supervised MLP (scikit-learn) on z-scored rates, weight decay chosen on validation."""
    from sklearn.neural_network import MLPClassifier

    train, valid, test = task["masks"]
    y = task["label"]
    fits = {alpha: MLPClassifier((64, 64, 32), alpha=alpha, max_iter=1000, early_stopping=False,
                                 random_state=seed).fit(Z[train], y[train])
            for alpha in (1e-3, 1e-1, 1.0, 10.0)}
    best = max(fits, key=lambda a: (fits[a].score(Z[valid], y[valid]), a))
    return float(fits[best].score(Z[test], y[test]))


def fit_steps(method: str, task: dict, steps: int | None,
              myow_params: dict | None = None) -> int:
    """A fit's training steps: MYOW's ``max_iterations`` in ``--myow-params``, else
    ``--steps``, else MYOW's recipe's ``max_iterations``, else :data:`STEPS`."""
    mine = method == "MYOW"
    if mine and "max_iterations" in (myow_params or {}):
        return myow_params["max_iterations"]
    if steps is not None:
        return steps
    return task.get("myow", {}).get("max_iterations", STEPS) if mine else STEPS


def make_model(method: str, task: dict, steps: int | None, seed: int,
               myow_params: dict | None = None):
    from neurolatent import BYOL, CEBRA, MYOW
    from neurolatent.augment import RandomizedNeuronDropout

    common = dict(max_iterations=fit_steps(method, task, steps, myow_params), batch_size=512,
                  output_dimension=32, device="cpu", random_state=seed)
    if method == "MYOW":
        # the task's recipe, then --myow-params over it (the steps are fit_steps')
        recipe = {**task.get("myow", {}), **(myow_params or {})}
        recipe.pop("max_iterations", None)
        return MYOW(**{**common, "exclude_window": task["exclude_window"],
                       "mined_warmup": task["warmup"], **_recipe(recipe, task)})
    if method == "BYOL":
        return BYOL(**common)
    augmentations = ([RandomizedNeuronDropout(0.8, 0.9)] if method.endswith("dropout")
                     else None)
    return CEBRA("offset1-model", **common, num_hidden_units=64, time_offsets=(1, 2, 3),
                 temperature=1.0, learning_rate=1e-3, augmentations=augmentations)


def run_one(task: dict, Z: np.ndarray, method: str, steps: int | None, seed: int,
            myow_params: dict | None = None) -> dict:
    from neurolatent import decode, decode_linear
    from neurolatent.evaluation import angle_accuracy

    train, valid, test = task["masks"]
    fit_rows = train | valid
    trial = task["trial"]
    model = make_model(method, task, steps, seed, myow_params)
    start = time.perf_counter()
    model.fit(Z[fit_rows], trial_ids=None if trial is None else trial[fit_rows])
    seconds = time.perf_counter() - start

    def embed(mask):
        return model.transform(Z[mask], trial_ids=None if trial is None else trial[mask])

    y = task["label"]
    parts = {name: (embed(mask), y[mask])
             for name, mask in (("train", train), ("valid", valid), ("test", test))}
    linear = decode_linear(*parts["train"], *parts["test"], valid=parts["valid"],
                           balanced=task["balanced"])
    knn = decode(*parts["train"], *parts["test"], valid=parts["valid"])
    run = {"task": task["task"], "method": method, "seed": seed,
           "steps": model.max_iterations,
           "linear_accuracy": linear["accuracy"],
           "linear_balanced_accuracy": linear["balanced_accuracy"],
           "knn_accuracy": knn["accuracy"], "fit_seconds": seconds,
           "final_loss": float(np.mean(model.history_["loss"][-50:]))}
    if task["angle"] is not None:
        angle = task["angle"]
        result = angle_accuracy(parts["train"][0], angle[train], parts["test"][0], angle[test],
                                valid=(parts["valid"][0], angle[valid]))
        run |= {"angle_accuracy": result["accuracy"],
                "angle_delta_accuracy": result["delta_accuracy"]}
    return run


def fold_embedding(task: dict, Z: np.ndarray, method: str, steps: int | None, seed: int,
                   fold: int, myow_params: dict | None = None) -> np.ndarray:
    """The session embedded by an encoder fitted (without labels) on every trial outside
    block ``fold`` of the 10 trial blocks; the last fold is the fixed split's encoder."""
    from neurolatent.evaluation import trial_folds

    trial = task["trial"]
    fit_rows = trial_folds(trial, FOLDS) != fold
    model = make_model(method, task, steps, seed, myow_params)
    model.fit(Z[fit_rows], trial_ids=trial[fit_rows])
    return model.transform(Z, trial_ids=trial)


def by_trial(options, tasks: list[dict], fitted: list[str], stored: list[dict]) -> dict:
    """Every trial tested once: the readout cross-validated over 10 trial blocks, each
    block's embedding from an encoder refitted without it (10 fits per method and seed).
    Fits the ``fitted`` tasks; reports every task of ``tasks`` with runs (``stored``: a
    stored report's, with ``--merge``)."""
    from neurolatent import decode_linear_by_trial
    from neurolatent._parallel import run_calls

    standardised = {task["task"]: standardise(task) for task in tasks}
    keys = [(task, method, seed) for task in tasks if task["task"] in fitted
            for method in options.methods for seed in _seeds(options)]
    embeddings = iter(run_calls([partial(fold_embedding, task, standardised[task["task"]],
                                         method, options.steps, seed, fold,
                                         options.myow_params)
                                 for task, method, seed in keys for fold in range(FOLDS)],
                                options.jobs))
    runs = []
    for task, method, seed in keys:
        out = decode_linear_by_trial([next(embeddings) for _ in range(FOLDS)], task["label"],
                                     task["trial"], n_folds=FOLDS)
        runs.append({"task": task["task"], "method": method, "seed": seed,
                     "steps": fit_steps(method, task, options.steps, options.myow_params),
                     "accuracy": out["accuracy"],
                     "fold_accuracy": [f["accuracy"] for f in out["folds"]]})
    runs = _report.merge(stored, runs, _run_key)
    methods = _methods(runs)
    raws = [decode_linear_by_trial(standardised[task["task"]], task["label"], task["trial"],
                                   n_folds=FOLDS) for task in tasks]
    # a MYOW encoder reading several bins is also compared with the rates of the same
    # window: the gain over single-bin rates may be the window's, not the method's
    window = _myow_window(options) if "MYOW" in methods else 1
    same_window = [decode_linear_by_trial(windowed_rates(standardised[task["task"]],
                                                         task["trial"], window),
                                          task["label"], task["trial"], n_folds=FOLDS)
                   if window > 1 else None for task in tasks]
    rows, checks = [], []
    for task, raw, wide in zip(tasks, raws, same_window, strict=True):
        # a merged report may lack some methods on some tasks
        for method in _methods([r for r in runs if r["task"] == task["task"]]):
            values = [r["accuracy"] for r in runs
                      if r["task"] == task["task"] and r["method"] == method]
            rows.append({"task": task["task"], "method": method,
                         "accuracy by trial (median)": float(np.median(values)),
                         "min-max": f"{min(values):.3f}-{max(values):.3f}"})
        rows.append({"task": task["task"], "method": "raw-rate logistic",
                     "accuracy by trial (median)": raw["accuracy"],
                     "min-max": f"{raw['accuracy']:.3f}-{raw['accuracy']:.3f}"})
        if wide is not None:
            rows.append({"task": task["task"],
                         "method": f"raw-rate logistic, MYOW's {window}-bin window",
                         "accuracy by trial (median)": wide["accuracy"],
                         "min-max": f"{wide['accuracy']:.3f}-{wide['accuracy']:.3f}"})
        mine = next((r for r in rows if r["task"] == task["task"] and r["method"] == "MYOW"),
                    None)
        if mine is not None:
            value = mine["accuracy by trial (median)"]
            check = {"task": task["task"], "MYOW": value, "raw rates": raw["accuracy"],
                     "met": value >= raw["accuracy"], "by": value - raw["accuracy"]}
            if wide is not None:
                check |= {"window": window, "raw rates, same window": wide["accuracy"],
                          "met, same window": value >= wide["accuracy"],
                          "by, same window": value - wide["accuracy"]}
            checks.append(check)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(tasks), figsize=(4.5 * len(tasks), 3.2), squeeze=False)
    for ax, task, raw, wide in zip(axes[0], tasks, raws, same_window, strict=True):
        for k, method in enumerate(methods):
            mine = [r for r in runs if r["task"] == task["task"] and r["method"] == method]
            for j, r in enumerate(mine):
                ax.plot(range(FOLDS), r["fold_accuracy"], "o-", color=f"C{k}", ms=3,
                        label=None if j else method)
        ax.plot(range(FOLDS), [f["accuracy"] for f in raw["folds"]], "k^--", ms=3,
                label="raw-rate logistic")
        if wide is not None:
            ax.plot(range(FOLDS), [f["accuracy"] for f in wide["folds"]], "kv:", ms=3,
                    label=f"raw-rate logistic, {window}-bin window")
        ax.set_xlabel("test block of trials (9 = the fixed split's test trials)")
        ax.set_ylabel("test accuracy")
        ax.set_title(task["task"])
        ax.legend(frameon=False, fontsize=7)
    summary = (f"Reach direction, every trial tested once: 10 contiguous blocks of trials, "
               "block k tested by a logistic readout trained on the other blocks but k - 1 "
               "(its C chosen there), from an encoder refitted without labels on all blocks "
               f"but k ({_steps_text(runs)}, seed(s) {_runs_seed_text(runs)}). Block 9 "
               f"is the fixed split.{_myow_note(options)} MYOW vs raw rates: " + "; ".join(
                   f"{c['task']} {c['MYOW']:.3f} vs {c['raw rates']:.3f} "
                   f"({'met' if c['met'] else 'NOT met'})" for c in checks) + "."
               + ("" if window == 1 else
                  f" MYOW's encoder reads {window} bins; against the rates of the same "
                  "window (each trial padded by repeating its edge bins, as `transform` "
                  "does): " + "; ".join(
                      f"{c['task']} {c['MYOW']:.3f} vs {c['raw rates, same window']:.3f} "
                      f"({'met' if c['met, same window'] else 'NOT met'})"
                      for c in checks) + "."))
    return _report.write(_name(options), options, {"runs": runs, "summary": rows,
                                                   "targets": checks},
                         figure, "Self-supervised representations, every trial tested",
                         summary, rows, script=NAME)


def _json_object(text: str) -> dict:
    """``--myow-params``: a JSON object of MYOW constructor arguments."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(
            f"expected a JSON object, got {text!r} ({error})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _tag(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise argparse.ArgumentTypeError(f"letters, digits, '_' or '-' only; got {text!r}")
    return text


def _name(options) -> str:
    """Report name: ssl_neural[_by_trial][_TAG]."""
    return "_".join([NAME, *(["by_trial"] if options.by_trial else []),
                     *([options.tag] if options.tag else [])])


def _seeds(options) -> range:
    """``--seeds`` seeds from ``--first-seed`` on (a run can add seeds to an earlier one)."""
    return range(options.first_seed, options.first_seed + options.seeds)


def _seed_text(seeds) -> str:
    """"0-2" for seeds 0, 1, 2; "0, 3" where they are not consecutive."""
    seeds = sorted(seeds)
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _run_key(run: dict) -> tuple:
    """What a run is, for --merge: a re-run of the same task, method and seed replaces it."""
    return run["task"], run["method"], run["seed"]


def _run_seeds(runs: list[dict], task: str | None = None) -> list[int]:
    return sorted({r["seed"] for r in runs if task is None or r["task"] == task})


def _runs_seed_text(runs: list[dict]) -> str:
    """The runs' seeds ("0-2"), and each task's where they differ (a merged report may hold
    more seeds for one task: "0-1 (chewie_20131219: 0)")."""
    every = _run_seeds(runs)
    per_task = {task: _run_seeds(runs, task) for task in dict.fromkeys(r["task"] for r in runs)}
    differ = [f"{task}: {_seed_text(seeds)}" for task, seeds in per_task.items() if seeds != every]
    return _seed_text(every) + (f" ({'; '.join(differ)})" if differ else "")


def _methods(runs: list[dict]) -> list[str]:
    """The methods with runs, in METHODS' order."""
    return [m for m in METHODS if any(r["method"] == m for r in runs)]


def _steps_text(runs: list[dict]) -> str:
    """The runs' steps for a report: the most common count, then the runs that differ
    ("3000 steps (MYOW on chewie_20131003, chewie_20131219: 10000)")."""
    base = Counter(r["steps"] for r in runs).most_common(1)[0][0]
    other: dict[tuple[str, int], list[str]] = {}
    for r in runs:
        if r["steps"] != base:
            names = other.setdefault((r["method"], r["steps"]), [])
            names += [] if r["task"] in names else [r["task"]]
    return f"{base} steps" + "".join(f" ({method} on {', '.join(names)}: {n})"
                                     for (method, n), names in other.items())


def _myow_note(options) -> str:
    note = {"rodent": " MYOW: the rodent script's recipe on every task.",
            "monkey-reach": " MYOW: nerdslab/myow's monkey-reach script's recipe on reaching "
                            "(REACHING_MYOW), its rodent script's on sleep states.",
            "neuro": " MYOW: myow-neuro's reaching script's recipe on reaching (NEURO_MYOW), "
                     "nerdslab/myow's rodent script's on sleep states."}[options.myow_recipe]
    if options.myow_params:
        note += f" MYOW settings changed: `{json.dumps(options.myow_params, sort_keys=True)}`."
    return note


def main(argv: list[str] | None = None) -> dict:
    args = _report.parser(__doc__.splitlines()[0])
    args.add_argument("--steps", type=int, default=None,
                      help=f"training steps of every fit (default: {STEPS}, and MYOW on "
                           "reaching its recipe's max_iterations: 10,000 for myow-neuro's)")
    args.add_argument("--seeds", type=int, default=3)
    args.add_argument("--first-seed", type=int, default=0,
                      help="the first seed (seeds FIRST .. FIRST + SEEDS - 1)")
    args.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                      help="self-supervised methods to fit (default: all)")
    args.add_argument("--by-trial", action="store_true",
                      help="reaching only: test every trial once (10 trial blocks, encoders "
                           "refitted per block, 10x the fits); writes ssl_neural_by_trial")
    args.add_argument("--myow-params", type=_json_object, default=None, metavar="JSON",
                      help="MYOW constructor arguments overriding the recipe's, e.g. "
                           "'{\"learning_rate_schedule\": \"cosine\"}'")
    args.add_argument("--myow-recipe", choices=tuple(RECIPES), default="neuro",
                      help="MYOW's recipe on reaching before --myow-params: myow-neuro's "
                           "reaching script's (default; NEURO_MYOW), nerdslab/myow's "
                           "monkey-reach script's (REACHING_MYOW) or its rodent script's "
                           "(as on sleep states)")
    args.add_argument("--tasks", nargs="+", choices=tuple(TARGETS), default=None,
                      help="run these tasks only (default: all; --by-trial runs the reaching "
                           "ones)")
    args.add_argument("--tag", type=_tag, default=None,
                      help="suffix of the report's name (keeps the default report)")
    args.add_argument("--merge", action="store_true",
                      help="add to the stored report of the same name and settings: its "
                           "runs this invocation does not redo (task, method, seed) stay, so "
                           "a long report can be built seed by seed or session by session")
    options = args.parse_args(argv)
    if options.myow_params:
        from neurolatent import MYOW

        try:  # unknown names and bad values stop here, not in a worker after other fits
            MYOW(**_recipe(_reaching_settings(options), {"silence": 0.0, "std": [1.0]})
                 )._validate_params()
        except (TypeError, ValueError, AttributeError) as error:
            args.error(f"--myow-params: {error}")
    if options.quick:  # a given --steps stays (the smoke tests' short fits)
        options.steps, options.seeds = options.steps or 200, 1
    _report.setup(options, argv)
    # which tasks run, checked before any data is read
    runnable = [name for name in (("chewie_20131003",) if options.quick else TARGETS)
                if not (options.by_trial and name == "mouse_ca1")]
    if options.tasks is not None and not set(options.tasks) & set(runnable):
        args.error(f"--tasks {' '.join(options.tasks)}: none of them runs here (--quick runs "
                   "chewie_20131003 only, --by-trial the reaching sessions only).")
    fitted = [name for name in runnable if options.tasks is None or name in options.tasks]
    stored = _report.stored_runs(options, _name(options), same=MERGE_SAME)
    # a merged report also shows the stored runs' tasks
    shown = set(fitted) | {r["task"] for r in stored}
    tasks = [task for task in _tasks(options.quick, _reaching_recipe(options))
             if task["task"] in shown]
    if options.by_trial:
        return by_trial(options, tasks, fitted, stored)
    from neurolatent._parallel import run_calls

    standardised = [standardise(task) for task in tasks]
    runs = run_calls([partial(run_one, task, Z, method, options.steps, seed,
                              options.myow_params)
                      for task, Z in zip(tasks, standardised, strict=True)
                      if task["task"] in fitted
                      for method in options.methods for seed in _seeds(options)],
                     options.jobs)
    runs = _report.merge(stored, runs, _run_key)
    methods = _methods(runs)
    rows, checks = [], []
    for task, Z in zip(tasks, standardised, strict=True):
        raw = raw_rate_baseline(task, Z)
        mlp = [supervised_mlp(task, Z, seed) for seed in _run_seeds(runs, task["task"])]
        fitted_here = _methods([r for r in runs if r["task"] == task["task"]])
        for method in (*fitted_here, "supervised MLP", "raw-rate logistic"):
            mine = [r for r in runs if r["task"] == task["task"] and r["method"] == method]
            if method == "supervised MLP":
                values = {"linear_accuracy": mlp}
            elif method == "raw-rate logistic":
                values = {"linear_accuracy": [raw]}
            else:
                values = {key: [r[key] for r in mine] for key in mine[0] if key.endswith(
                    "accuracy")}
            row = {"task": task["task"], "method": method,
                   "linear acc. (median)": float(np.median(values["linear_accuracy"])),
                   "linear acc. (min-max)": "{:.3f}-{:.3f}".format(
                       min(values["linear_accuracy"]), max(values["linear_accuracy"]))}
            if "knn_accuracy" in values:
                row["kNN acc."] = float(np.median(values["knn_accuracy"]))
            if "angle_accuracy" in values:
                row["angle acc."] = float(np.median(values["angle_accuracy"]))
                row["angle delta-acc."] = float(np.median(values["angle_delta_accuracy"]))
            rows.append(row)
        myow = next((r for r in rows if r["task"] == task["task"] and r["method"] == "MYOW"),
                    None)
        if myow is None:
            continue
        goal = raw if TARGETS[task["task"]] == "raw" else TARGETS[task["task"]]
        checks.append({"task": task["task"], "MYOW linear acc.": myow["linear acc. (median)"],
                       "target": goal, "met": myow["linear acc. (median)"] >= goal,
                       "by": myow["linear acc. (median)"] - goal})

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = (*methods, "supervised MLP", "raw-rate logistic")
    figure, ax = plt.subplots(figsize=(2 + 2.6 * len(tasks), 3.4))
    width = 0.8 / len(methods)
    for i, task in enumerate(tasks):
        for k, method in enumerate(methods):
            row = next((r for r in rows if r["task"] == task["task"]
                        and r["method"] == method), None)
            if row is None:  # not fitted on this task (a merged report)
                continue
            mine = [r["linear_accuracy"] for r in runs
                    if r["task"] == task["task"] and r["method"] == method]
            x = i + (k - len(methods) / 2 + 0.5) * width
            ax.bar(x, row["linear acc. (median)"], width * 0.9, color=f"C{k}",
                   label=method if i == 0 else None)
            if mine:
                ax.plot([x] * len(mine), mine, "k.", ms=3)
    ax.set_xticks(range(len(tasks)), [t["task"] for t in tasks])
    ax.set_ylabel("test accuracy (linear readout)")
    ax.set_ylim(0, 1)
    ax.legend(frameon=False, fontsize=7, loc="lower right", ncol=2)
    ax.set_title("Self-supervised neural representations")
    summary = (f"{_steps_text(runs)}, seed(s) {_runs_seed_text(runs)} per method, "
               "per-bin MLP "
               "encoders; bars are medians over seeds, dots single seeds. Targets: MYOW >= the "
               "raw-rate logistic baseline on both Chewie sessions, >= 91 % on sleep states. "
               "Chance: 12.5 % (8 targets), 57.3 % majority (sleep). Target check: "
               + "; ".join(f"{c['task']} {'met' if c['met'] else 'NOT met'} "
                           f"({c['MYOW linear acc.']:.3f} vs {c['target']:.3f})" for c in checks)
               + f".{_myow_note(options)} The fixed split tests 16-18 trials per session; "
               "`--by-trial` tests every trial once (docs/ssl_neural_by_trial.md).")
    return _report.write(_name(options), options,
                         {"runs": runs, "summary": rows, "targets": checks}, figure,
                         "Self-supervised representations (BYOL, MYOW)", summary, rows,
                         script=NAME)


if __name__ == "__main__":
    main()
