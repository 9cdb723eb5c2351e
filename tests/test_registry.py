"""The architecture registry: lookup, errors, hyperparameter checking."""
import pytest

from modules import registry
from modules.errors import UserError
from modules.registry import Architecture, RegistryError


def test_unknown_architecture_lists_valid_names():
    with pytest.raises(RegistryError, match="unknown architecture 'nope'; valid: .*lenet5.*mlp"):
        registry.get("nope")


def test_registering_a_name_twice_is_an_error():
    with pytest.raises(RegistryError, match="registered twice"):
        registry.register(Architecture(name="mlp", task="classify", family="x", module="x",
                                       default_data="digits"))


def test_names_filter_by_pattern_task_and_family():
    assert "lenet5" in registry.names("len*")
    assert "mlp" not in registry.names("len*")
    assert "mlp" in registry.names(family="feedforward")
    assert all(registry.get(n).task == "classify" for n in registry.names(task="classify"))


def test_hyperparameters_from_the_command_line_take_the_default_type():
    hp = registry.get("mlp").hyperparameters({"depth": "4", "dropout": "0.5"})
    assert hp["depth"] == 4 and isinstance(hp["depth"], int)
    assert hp["dropout"] == 0.5


@pytest.mark.parametrize("overrides, message", [
    ({"depth": 0}, r"depth=0 is outside the valid range \[1, 1000\]"),
    ({"dropout": 1.5}, r"dropout=1.5 is outside the valid range"),
    ({"activation": "swish2"}, "not valid; choose one of: sigmoid, tanh, relu"),
    ({"colour": "red"}, "has no hyperparameter 'colour'"),
    ({"depth": "three"}, "bad value for depth"),
])
def test_bad_hyperparameters_name_the_constraint(overrides, message):
    with pytest.raises(UserError, match=message):
        registry.get("mlp").hyperparameters(overrides)


def test_every_architecture_declares_a_known_task_and_dataset():
    import datamodules

    for arch in registry.all_architectures():
        assert arch.task in registry.TASKS
        assert arch.default_data in datamodules.DATASETS
        assert set(arch.space) <= set(arch.defaults), arch.name
