"""Paging over 1,000 parameters: GetParametersByPath and DescribeParameters
return each parameter exactly once across pages."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.server import Server

COUNT = 1000


@pytest.fixture(scope="module")
def loaded(server: Server) -> tuple[Any, str, list[str]]:
    ssm = server.client("ssm")
    root = f"/page{uuid.uuid4().hex[:8]}"
    # Two levels so that OneLevel and Recursive differ; every put goes through the API.
    names = [f"{root}/{'deep/' if i % 4 == 0 else ''}p{i:04d}" for i in range(COUNT)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: ssm.put_parameter(Name=n, Value=n[-5:], Type="String"), names))
    return ssm, root, names


def collect(call: Any, **kw: Any) -> tuple[list[str], int]:
    out: list[str] = []
    pages = 0
    token = None
    while True:
        page = call(**kw, **({"NextToken": token} if token else {}))
        out += [p["Name"] for p in page["Parameters"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            return out, pages


def test_by_path_pages(loaded: tuple[Any, str, list[str]]) -> None:
    ssm, root, names = loaded
    got, pages = collect(ssm.get_parameters_by_path, Path=root, Recursive=True, MaxResults=10)
    assert len(got) == len(set(got)) == COUNT
    assert sorted(got) == sorted(names)
    assert pages == COUNT // 10
    top, _ = collect(ssm.get_parameters_by_path, Path=root, MaxResults=7)
    assert sorted(top) == sorted(n for n in names if "/deep/" not in n)


def test_describe_pages(loaded: tuple[Any, str, list[str]]) -> None:
    ssm, root, names = loaded
    got, pages = collect(
        ssm.describe_parameters,
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [root]}],
        MaxResults=50,
    )
    assert len(got) == len(set(got)) == COUNT
    assert sorted(got) == sorted(names)
    assert pages == COUNT // 50
    deep, _ = collect(
        ssm.describe_parameters,
        ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [f"{root}/deep/"]}],
    )
    assert sorted(deep) == sorted(n for n in names if "/deep/" in n)
