import json
import os

import numpy as np
import pytest

from results import atomic


def test_atomic_writes_leave_complete_files_with_ordinary_permissions(tmp_path):
    atomic.write_json(tmp_path / "a.json", {"x": [1, 2]})
    atomic.write_npz(str(tmp_path / "b.npz"), {"k": np.arange(3)})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": [1, 2]}
    with np.load(tmp_path / "b.npz", allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["k"], [0, 1, 2])
    assert os.stat(tmp_path / "a.json").st_mode & 0o777 == atomic.FILE_MODE
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.json", "b.npz"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "logs.json"
    atomic.write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(str(target)) as temporary:
            with open(temporary, "w") as handle:
                handle.write("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["logs.json"]


def test_object_arrays_are_refused_rather_than_pickled(tmp_path):
    with pytest.raises(ValueError, match="pickle"):
        atomic.write_npz(str(tmp_path / "c.npz"), {"bad": np.array([{"a": 1}], dtype=object)})
