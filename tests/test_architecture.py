"""The import picture of docs/architecture.md, checked on the source: floors, rooms, no torch below.

Every module under ``gaia_stim/`` is parsed with ``ast``; every import it makes, at module level or
inside a function, is an arrow from its room to another. A room may import its own floor or a
lower one, never a higher one.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gaia_stim"

# The floors of docs/architecture.md (keep the two tables the same). A room is a sub-package or a
# top-level module of gaia_stim; "gaia_stim" is the package's own __init__ (load_model, the lazy
# StimulusModel and LiveMorph).
FLOORS = {
    "core": 0,  # errors, atomic files, ownership, images in, tiler, device
    "_version": 0,  # a leaf: one string
    "model": 1,  # the training core
    "io": 1,  # files of the stimulus layer
    "metrics": 1,  # image distances
    "datasets": 1,  # the synthetic faces
    "api": 2,  # StimulusModel, load_model
    "stimuli": 3,  # the kinds, low-level control, live generation, regeneration
    "designs": 3,  # trial designs and trial lists
    "analysis": 3,  # psychometric fits and reports
    "explore": 4,  # the interactive explorer
    "cli": 5,  # the commands
    "gaia_stim": 5,  # the package's front door
    "__main__": 5,
}


# Upward imports still to be removed, as (importing module, imported module), each with a comment
# saying where its target belongs. None are left; the mechanism stays for a renovation in progress.
KNOWN_UPWARD = set()


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module):
    """``gaia_stim.io.sets`` -> ``io``; ``gaia_stim.api`` -> ``api``; ``gaia_stim`` -> ``gaia_stim``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports(path):
    """(imported module, line, at module level?) of every import in the file at ``path``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            if module == "gaia_stim":  # from gaia_stim import api: the names are modules or the front door
                found += [(f"gaia_stim.{alias.name}" if (PACKAGE / alias.name).exists()
                           or (PACKAGE / f"{alias.name}.py").exists() else "gaia_stim", node.lineno,
                           id(node) in top_level) for alias in node.names]
            else:
                found.append((module, node.lineno, id(node) in top_level))
    return found


MODULES = sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)
EDGES = [
    (module_name(path), path.relative_to(ROOT).as_posix(), target, line, top)
    for path in MODULES
    for target, line, top in imports(path)
]
INTERNAL = [(source, where, target, line, top) for source, where, target, line, top in EDGES
            if target == "gaia_stim" or target.startswith("gaia_stim.")]


def shown(edges):
    return "\n".join(f"  {where}:{line} imports {target}" for _, where, target, line, _ in edges)


def test_the_parser_sees_the_imports_it_should():
    """The checks below are only as good as the list of imports they read."""
    assert len(MODULES) > 60
    by_module = {(source, target) for source, _, target, _, _ in INTERNAL}
    assert ("gaia_stim.api", "gaia_stim.core.device") in by_module  # module level
    assert ("gaia_stim.cli.train", "gaia_stim.model.trainer") in by_module  # inside a function
    assert ("gaia_stim.model.trainer", "torch") in {(source, target) for source, _, target, _, _ in EDGES}


def test_every_room_has_a_floor():
    rooms = {room(module_name(path)) for path in MODULES}
    assert rooms - set(FLOORS) == set(), "give the new room a floor here and in docs/architecture.md"


def test_no_room_imports_a_higher_floor():
    upward = [edge for edge in INTERNAL if FLOORS[room(edge[2])] > FLOORS[room(edge[0])]
              and (edge[0], edge[2]) not in KNOWN_UPWARD]
    assert not upward, "imports from a lower floor to a higher one:\n" + shown(upward)
    gone = KNOWN_UPWARD - {(edge[0], edge[2]) for edge in INTERNAL}
    assert not gone, f"these upward imports are gone; take them off KNOWN_UPWARD: {sorted(gone)}"


def test_core_imports_nothing_else_of_gaia_stim_and_no_torch_when_imported():
    core = [edge for edge in EDGES if room(edge[0]) == "core"]
    outside = [edge for edge in core if edge[2].startswith("gaia_stim") and room(edge[2]) != "core"]
    assert not outside, "the ground floor imports another part of gaia-stim:\n" + shown(outside)
    torch_at_import = [edge for edge in core if edge[2].split(".")[0] == "torch" and edge[4]]
    assert not torch_at_import, "core imports torch at module level:\n" + shown(torch_at_import)


def test_model_imports_only_the_ground_floor_and_itself():
    outside = [edge for edge in INTERNAL if room(edge[0]) == "model" and room(edge[2]) not in ("core", "_version", "model")]
    assert not outside, "the training core imports the stimulus layer:\n" + shown(outside)


def test_io_imports_only_the_ground_floor_and_itself_and_never_torch():
    io = [edge for edge in EDGES if room(edge[0]) == "io"]
    outside = [edge for edge in io if edge[2].startswith("gaia_stim") and room(edge[2]) not in ("core", "_version", "io")]
    assert not outside, "io imports above the ground floor:\n" + shown(outside)
    torch = [edge for edge in io if edge[2].split(".")[0] == "torch"]
    assert not torch, "io imports torch:\n" + shown(torch)


def test_no_module_is_loaded_by_name():
    """Registries (kinds, designs) are explicit imports that this test can follow, never importlib by name."""
    found = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                function = node.func
                called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
                if called in ("import_module", "__import__"):
                    found.append(f"  {path.relative_to(ROOT).as_posix()}:{node.lineno} calls {called}")
    assert not found, "modules loaded by name:\n" + "\n".join(found)


def test_no_module_only_re_exports_another():
    """A module whose body is imports (and __all__) alone is a forwarding address, not a home."""
    shims = []
    for path in MODULES:
        if path.name in ("__init__.py", "__main__.py"):
            continue
        body = ast.parse(path.read_text(encoding="utf-8")).body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        rest = [node for node in body if not isinstance(node, (ast.Import, ast.ImportFrom))
                and not (isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == ["__all__"])]
        if body and not rest:
            shims.append(path.relative_to(ROOT).as_posix())
    assert not shims, f"modules that only re-export others: {shims}"


@pytest.mark.parametrize("modules", [
    ["gaia_stim.io.sets", "gaia_stim.io.labels", "gaia_stim.io.movies", "gaia_stim.io.results"],
    ["gaia_stim.core.atomic", "gaia_stim.core.ownership", "gaia_stim.core.images", "gaia_stim.core.tiles",
     "gaia_stim.core.device", "gaia_stim.core.errors", "gaia_stim.core.spacings"],
    ["gaia_stim.model.config", "gaia_stim.model.recipes", "gaia_stim.model.runs", "gaia_stim.model.data"],
])
def test_importing_the_lower_floors_does_not_import_torch(modules):
    code = f"import sys\nfor name in {modules!r}:\n    __import__(name)\nprint('torch' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_commands_offer_the_registries_of_the_modules_that_define_them():
    from gaia_stim.cli.continuum import continuum
    from gaia_stim.cli.grid import grid
    from gaia_stim.cli.train import train
    from gaia_stim.cli.wheel import wheel
    from gaia_stim.core.device import DEVICES
    from gaia_stim.core.spacings import IMAGE_SPACINGS, KIND_SPACINGS, SPACINGS
    from gaia_stim.metrics import METRICS
    from gaia_stim.model.config import PRESETS
    from gaia_stim.model.recipes import ABLATIONS, RECIPES

    def choices(command, name):
        return [parameter.type.choices for parameter in command.params if parameter.name == name][0]

    assert set(choices(train, "preset")) == set(PRESETS) == {"tiny", "small", "paper"}
    assert set(choices(train, "recipe")) == set(RECIPES) == {"gaia-stim", "paper"}
    assert tuple(choices(train, "ablation")) == ABLATIONS == ("none", "ae", "no-interp", "no-structure")
    assert tuple(choices(train, "device")) == DEVICES == ("auto", "cpu", "cuda")
    assert tuple(choices(continuum, "metric")) == METRICS == ("pixel", "ssim", "nlpd", "feature")
    assert tuple(SPACINGS) == ("linear", "equal", "perceptual")
    assert tuple(choices(continuum, "spacing")) == KIND_SPACINGS["continuum"] == ("linear", "equal", "perceptual")
    for command, kind in ((grid, "grid"), (wheel, "wheel")):
        assert tuple(choices(command, "spacing")) == KIND_SPACINGS[kind] == IMAGE_SPACINGS == ("linear", "equal")


def test_the_kinds_and_the_explorer_take_the_spacings_of_the_registry():
    """A kind refuses a spacing it does not take, in the registry's words; the explorer takes the image-only ones."""
    from gaia_stim.core.errors import InputError
    from gaia_stim.core.spacings import IMAGE_SPACINGS, KIND_SPACINGS, check_spacing
    from gaia_stim.explore.state import parse_spec

    for kind, taken in KIND_SPACINGS.items():
        for spacing in taken:
            assert check_spacing(spacing, kind) == spacing
    with pytest.raises(InputError, match=r"^spacing must be 'linear' or 'equal'; got 'perceptual'$"):
        check_spacing("perceptual", "grid")
    with pytest.raises(InputError, match=r"^spacing must be one of 'linear', 'equal', 'perceptual'; got 'curved'$"):
        check_spacing("curved", "continuum")
    for spacing in IMAGE_SPACINGS:
        spec = parse_spec({"kind": "wheel", "sources": ["c", "a", "b"], "params": {"spacing": spacing}})
        assert spec["params"]["spacing"] == spacing
    with pytest.raises(InputError):
        parse_spec({"kind": "continuum", "sources": ["a", "b"], "params": {"spacing": "perceptual"}})


def test_the_command_line_starts_without_torch_or_numpy():
    """``gaia-stim --help`` reads the registries (presets, recipes, metrics) but none of the heavy libraries."""
    code = ("import sys\nfrom gaia_stim.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(name for name in ('torch', 'numpy', 'PIL', 'pandas') if name in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
