from impressions.provenance import library_modules


def write(path, text=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_follows_imports_transitively_and_ignores_the_rest(tmp_path):
    package = tmp_path / "src" / "impressions"
    write(package / "__init__.py")
    write(package / "a.py", "from impressions import b\nimport numpy\n")
    write(package / "b.py", "from impressions.c import thing\n")
    write(package / "c.py", "import os\nthing = 1\n")
    write(package / "unused.py", "import impressions.a\n")
    script = write(tmp_path / "scripts" / "rule.py", "import impressions.a\n")
    found = library_modules(str(script), str(tmp_path / "src"))
    assert [p.split("impressions/")[1] for p in found] == ["__init__.py", "a.py", "b.py", "c.py"]


def test_the_real_rule_scripts_depend_on_what_they_use():
    from workflow_rules import REPO

    found = {p.rsplit("/", 1)[1] for p in library_modules(str(REPO / "scripts" / "logmel.py"), str(REPO / "src"))}
    assert {"audio.py", "features.py", "cache.py", "media.py"} <= found
    assert "vggish.py" not in found and "train.py" not in found
