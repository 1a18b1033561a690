"""3-D export: the mesh and its clean cut at zmax, and .vtp files read back by VTK's own reader."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import h5py
import numpy as np
import pytest
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

from landscape.cli import main
from landscape.mesh import grid_triangles, surface_mesh

X = np.linspace(-1.0, 1.0, 7)
Y = np.linspace(-0.5, 1.0, 5)  # non-square


def write_surface(path, x, y, **quantities):
    with h5py.File(path, "w") as f:
        for name, axis in (("x", x), ("y", y)):  # our grid attribute: a single point is valid
            if axis is not None:
                f.attrs[f"grid_{name}"] = f"{axis[0]}:{axis[-1]}:{len(axis)}"
        f["xcoordinates"] = x
        if y is not None:
            f["ycoordinates"] = y
        for name, values in quantities.items():
            f[name] = values
        f["dir_file"] = "d.h5"
        f.attrs["landscape_version"] = "test"
    return path


def bowl() -> np.ndarray:
    xx, yy = np.meshgrid(X, Y)  # loss[j, i] = L(x_i, y_j)
    return 0.5 + xx**2 + 2 * yy**2


def read_vtp(path):
    reader = vtkXMLPolyDataReader()
    reader.SetFileName(str(path))
    reader.Update()
    poly = reader.GetOutput()
    cells = vtk_to_numpy(poly.GetPolys().GetConnectivityArray())
    offsets = vtk_to_numpy(poly.GetPolys().GetOffsetsArray())
    scalars = poly.GetPointData().GetScalars()
    return (vtk_to_numpy(poly.GetPoints().GetData()), cells, offsets, scalars.GetName(),
            vtk_to_numpy(scalars))


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Areas of the triangles projected onto the (x, y) plane, positive when counter-clockwise."""
    a, b, c = (points[triangles[:, k], :2] for k in range(3))
    return ((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]) / 2


def area(points: np.ndarray, triangles: np.ndarray) -> float:
    return float(np.abs(signed_areas(points, triangles)).sum())


def test_uncut_mesh_is_the_grid_in_two_triangles_per_cell():
    mesh = surface_mesh(X, Y, bowl())
    xx, yy = np.meshgrid(X, Y)
    np.testing.assert_array_equal(mesh.points, np.stack([xx.ravel(), yy.ravel(), bowl().ravel()], 1))
    np.testing.assert_array_equal(mesh.values, bowl().ravel())
    assert mesh.triangles.shape == (2 * 6 * 4, 3)
    assert area(mesh.points, mesh.triangles) == pytest.approx(2.0 * 1.5)
    assert (signed_areas(mesh.points, mesh.triangles) > 0).all()  # counter-clockwise from above


def test_cut_at_zmax_is_a_clean_edge_not_a_plateau():
    xx, _ = np.meshgrid(X, Y)
    plane = 2.0 + xx  # the region below zmax = 2.3 is exactly x <= 0.3
    mesh = surface_mesh(X, Y, plane, zmax=2.3)
    assert mesh.points[:, 2].max() == pytest.approx(2.3)
    assert mesh.points[:, 0].max() == pytest.approx(0.3)
    assert area(mesh.points, mesh.triangles) == pytest.approx(1.3 * 1.5)  # not the whole grid
    on_cut = np.isclose(mesh.points[:, 2], 2.3)
    assert on_cut.sum() == 2 * len(Y) - 1  # one vertex per crossed edge, shared by neighbours
    assert not on_cut[mesh.triangles].all(axis=1).any()  # no flat triangle at the top
    np.testing.assert_array_equal(mesh.values[on_cut], 2.3)

    bowl_mesh = surface_mesh(X, Y, bowl(), zmax=1.5)
    assert bowl_mesh.points[:, 2].max() <= 1.5 + 1e-12
    # The edge of the cut: every vertex on a boundary edge is on the grid's border or at zmax.
    edges = np.sort(np.concatenate([bowl_mesh.triangles[:, [0, 1]], bowl_mesh.triangles[:, [1, 2]],
                                    bowl_mesh.triangles[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    ends = bowl_mesh.points[unique[counts == 1].ravel()]
    border = (np.isin(ends[:, 0], [X[0], X[-1]]) | np.isin(ends[:, 1], [Y[0], Y[-1]]))
    assert (border | np.isclose(ends[:, 2], 1.5)).all()


def test_non_finite_and_log_leave_holes():
    z = bowl()
    z[2, 3] = np.nan
    z[0, 0] = np.inf
    mesh = surface_mesh(X, Y, z)
    assert len(mesh.points) == z.size - 2
    assert len(mesh.triangles) == len(grid_triangles(7, 5)) - 6 - 2  # 6 round (2, 3), 2 at (0, 0)
    z = bowl() - 1.0  # some values <= 0
    mesh = surface_mesh(X, Y, z, log=True)
    assert (mesh.values > 0).all()
    np.testing.assert_allclose(mesh.points[:, 2], np.log10(mesh.values))


@pytest.mark.parametrize("encoding", ["ascii", "base64"])
def test_vtp_reads_back_with_vtk(tmp_path, encoding):
    surf = write_surface(tmp_path / "s.h5", X, Y, train_loss=bowl(), test_loss=bowl() + 1)
    out = tmp_path / "s.vtp"
    assert main(["vtp", "--surface", str(surf), "--out", str(out), "--zmax", "2",
                 "--encoding", encoding]) == 0
    expected = surface_mesh(X, Y, bowl(), zmax=2.0)
    points, cells, offsets, name, values = read_vtp(out)
    np.testing.assert_array_equal(points, expected.points)
    np.testing.assert_array_equal(cells.reshape(-1, 3), expected.triangles)
    np.testing.assert_array_equal(offsets, 3 * np.arange(len(expected.triangles) + 1))
    assert name == "train_loss"
    np.testing.assert_array_equal(values, expected.values)
    piece = ET.parse(out).getroot().find("PolyData/Piece")  # any XML parser reads the header
    assert piece.get("NumberOfPoints") == str(len(expected.points))
    assert piece.get("NumberOfPolys") == str(len(expected.triangles))

    again = tmp_path / "again.vtp"
    assert main(["vtp", "--surface", str(surf), "--out", str(again), "--zmax", "2",
                 "--encoding", encoding]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_vtp_log_and_other_quantity(tmp_path):
    surf = write_surface(tmp_path / "s.h5", X, Y, train_loss=bowl(), max_eig=bowl() + 2,
                         min_eig=-0.1 * bowl())
    out = tmp_path / "r.vtp"
    assert main(["vtp", "--surface", str(surf), "--out", str(out), "--surf-name", "eig_ratio",
                 "--log"]) == 0
    points, _, _, name, values = read_vtp(out)
    ratio = np.abs(-0.1 * bowl() / (bowl() + 2)).ravel()
    assert name == "eig_ratio"
    np.testing.assert_allclose(values, ratio, rtol=1e-15)
    np.testing.assert_allclose(points[:, 2], np.log10(ratio), rtol=1e-15)


@pytest.mark.parametrize("case, message", [
    ("1-D", "is 1-D; a .vtp surface needs a 2-D one"),
    ("missing", "has no dataset 'test_loss'"),
    ("log zmax", "log needs a positive zmax, got -1.0"),
])
def test_vtp_bad_input(tmp_path, cli_error, case, message):
    two_d = write_surface(tmp_path / "s.h5", X, Y, train_loss=bowl())
    surface, extra = {
        "1-D": (write_surface(tmp_path / "c.h5", X, None, train_loss=X**2), []),
        "missing": (two_d, ["--surf-name", "test_loss"]),
        "log zmax": (two_d, ["--log", "--zmax=-1"]),
    }[case]
    out = tmp_path / "o.vtp"
    assert message in cli_error("vtp", "--surface", surface, "--out", out, *extra)
    assert not out.exists()


@pytest.mark.parametrize("case, extra, why", [
    ("all cut", ["--zmax", "0.1"], "no grid cell of 'train_loss' is finite at or below --zmax"),
    ("all NaN", [], "no grid cell of 'train_loss' is finite;"),
    ("all above, log", ["--log", "--zmax", "1e-3"],
     "no grid cell of 'train_loss' is finite at or below --zmax and positive (--log)"),
    ("1 x N", [], "its 1 x 7 grid has no cell"),
    ("N x 1", [], "its 5 x 1 grid has no cell"),
    ("1 x 1", [], "its 1 x 1 grid has no cell"),
])
@pytest.mark.parametrize("encoding", ["ascii", "base64"])
def test_vtp_with_nothing_to_draw_is_an_empty_mesh_and_a_warning(tmp_path, capsys, case, extra,
                                                                 why, encoding):
    """A barely trained or diverged model, or a grid without cells, must not fail the workflow's
    last step: the file is valid (VTK reads it), empty, and a warning says why."""
    x, y, loss = {
        "all cut": (X, Y, bowl()),
        "all NaN": (X, Y, np.full((len(Y), len(X)), np.nan)),
        "all above, log": (X, Y, bowl()),
        "1 x N": (X, np.array([0.5]), bowl()[:1]),
        "N x 1": (np.array([0.0]), Y, bowl()[:, :1]),
        "1 x 1": (np.array([0.0]), np.array([0.5]), bowl()[:1, :1]),
    }[case]
    surf = write_surface(tmp_path / "s.h5", x, y, train_loss=loss)
    out = tmp_path / "s.vtp"
    capsys.readouterr()
    assert main(["vtp", "--surface", str(surf), "--out", str(out), "--encoding", encoding,
                 *extra]) == 0
    err = capsys.readouterr().err
    assert f"landscape vtp: warning: surface {surf}: {why}" in err
    assert "writing an empty mesh" in err
    reader = vtkXMLPolyDataReader()
    reader.SetFileName(str(out))
    reader.Update()
    assert reader.GetErrorCode() == 0
    poly = reader.GetOutput()
    assert (poly.GetNumberOfPoints(), poly.GetNumberOfPolys()) == (0, 0)
    assert poly.GetPointData().GetScalars().GetName() == "train_loss"
    piece = ET.parse(out).getroot().find("PolyData/Piece")
    assert (piece.get("NumberOfPoints"), piece.get("NumberOfPolys")) == ("0", "0")
