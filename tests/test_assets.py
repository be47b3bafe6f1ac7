"""The asset cache: extraction is safe when processes race for it."""

import zipfile

from keras_bert_impl import assets


def _wheel(cache_dir):
    packages = cache_dir / "packages"
    packages.mkdir(parents=True)
    path = packages / "demo_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("demo_pkg/data/a.txt", "alpha")
        zf.writestr("demo_pkg/data/sub/b.txt", "beta")
    return path


def test_folder_extracted_once_and_reused(tmp_path):
    _wheel(tmp_path)
    folder = assets.asset_path("demo-pkg==1.0", "demo_pkg/data", tmp_path)
    assert (folder / "a.txt").read_text() == "alpha"
    assert (folder / "sub" / "b.txt").read_text() == "beta"
    assert not [p for p in folder.parent.iterdir() if p.name != "data"]


def test_losing_an_extraction_race_keeps_the_winner(tmp_path):
    """Two processes both saw the folder missing and both extracted it:
    the second rename must not fail, and the folder stays whole."""
    archive = _wheel(tmp_path)
    target = assets.asset_path("demo-pkg==1.0", "demo_pkg/data", tmp_path)
    with zipfile.ZipFile(archive) as zf:
        names = {n: n for n in zf.namelist()}
        assets._extract(archive, names, "demo_pkg/data", target, zf.read)
    assert (target / "sub" / "b.txt").read_text() == "beta"
    assert sorted(p.name for p in target.parent.iterdir()) == ["data"]
