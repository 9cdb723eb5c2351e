"""Every builder takes `(input_shape, num_classes, **hparams)` and nothing else: the registry
entry holds each hyperparameter's default (and its named presets) in one place.

Reads the registry, so a new architecture is checked the day it is registered.
"""
from __future__ import annotations

import inspect

import pytest

from modules import registry

ARCHS = registry.names()
POSITIONAL = ["input_shape", "num_classes"]


@pytest.mark.parametrize("framework", registry.FRAMEWORKS)
@pytest.mark.parametrize("name", ARCHS)
def test_builder_takes_exactly_the_entrys_hyperparameters_without_defaults(name, framework):
    arch = registry.get(name)
    parameters = inspect.signature(registry.builder_for(arch, framework)).parameters
    assert list(parameters)[:2] == POSITIONAL
    assert sorted(list(parameters)[2:]) == sorted(arch.defaults)
    with_defaults = [p for p, spec in parameters.items() if spec.default is not inspect.Parameter.empty]
    assert with_defaults == [], f"{name} ({framework}) builder has defaults of its own: {with_defaults}"


@pytest.mark.parametrize("name", ARCHS)
def test_every_preset_names_existing_hyperparameters_and_validates(name):
    arch = registry.get(name)
    assert registry.DEFAULT_PRESET not in arch.presets  # the entry's defaults are that preset
    for preset, values in arch.presets.items():
        assert set(values) <= set(arch.defaults), f"{name} preset {preset!r}: {set(values) - set(arch.defaults)}"
        merged = arch.hyperparameters(preset=preset)  # coerced and checked against the space
        assert {key: merged[key] for key in values} == values
