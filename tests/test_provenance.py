from impressions.io.provenance import library_modules


def write(path, text=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def relative(found):
    return sorted(p.split("impressions/")[1] for p in found)


def test_follows_imports_transitively_and_ignores_the_rest(tmp_path):
    package = tmp_path / "src" / "impressions"
    write(package / "__init__.py")
    write(package / "a.py", "from impressions import b\nimport numpy\n")
    write(package / "b.py", "from impressions.c import thing\n")
    write(package / "c.py", "import os\nthing = 1\n")
    write(package / "unused.py", "import impressions.a\n")
    script = write(tmp_path / "scripts" / "rule.py", "import impressions.a\n")
    found = library_modules(str(script), str(tmp_path / "src"))
    assert relative(found) == ["__init__.py", "a.py", "b.py", "c.py"]


def test_sub_packages_count_their_init_files_and_relative_imports(tmp_path):
    package = tmp_path / "src" / "impressions"
    write(package / "__init__.py")
    write(package / "io" / "__init__.py")
    write(package / "io" / "atomic.py")
    write(package / "io" / "unused.py")
    write(package / "features" / "__init__.py", "from .transforms import mel\n")
    write(package / "features" / "transforms.py", "from ..io import atomic\nmel = 1\n")
    write(package / "features" / "stage.py", "from . import transforms\nfrom .. import io\n")
    write(package / "models" / "__init__.py")
    write(package / "models" / "train.py", "from ..features.stage import x\n")
    script = write(tmp_path / "scripts" / "rule.py", "from impressions.models.train import fit\n")
    found = library_modules(str(script), str(tmp_path / "src"))
    assert relative(found) == [
        "__init__.py",
        "features/__init__.py",
        "features/stage.py",
        "features/transforms.py",
        "io/__init__.py",
        "io/atomic.py",
        "models/__init__.py",
        "models/train.py",
    ]


def test_a_module_imported_by_its_package_name_alone_brings_the_package_init(tmp_path):
    package = tmp_path / "src" / "impressions"
    write(package / "__init__.py")
    write(package / "data" / "__init__.py", "import impressions.data.clips\n")
    write(package / "data" / "clips.py")
    write(package / "data" / "media.py")
    script = write(tmp_path / "scripts" / "rule.py", "import impressions.data\n")
    assert relative(library_modules(str(script), str(tmp_path / "src"))) == ["__init__.py", "data/__init__.py", "data/clips.py"]


def test_the_real_rule_scripts_depend_on_what_they_use():
    from workflow_rules import REPO

    found = relative(library_modules(str(REPO / "scripts" / "logmel.py"), str(REPO / "src")))
    assert {"features/__init__.py", "features/audio_stage.py", "features/transforms.py", "io/cache.py", "io/wav.py"} <= set(found)
    assert not {"features/vggish.py", "models/train.py", "data/media.py"} & set(found)


def test_what_the_package_init_imports_counts_for_every_script(tmp_path):
    package = tmp_path / "src" / "impressions"
    write(package / "__init__.py", "from impressions import helpers\n")
    write(package / "helpers.py")
    script = write(tmp_path / "scripts" / "rule.py", "import os\n")
    assert relative(library_modules(str(script), str(tmp_path / "src"))) == ["__init__.py", "helpers.py"]
