"""Every error a service raises is one botocore knows as that service's error.

boto3 turns an error into ``client.exceptions.<Shape>`` by its code, so a
service's error class must use the code of an error shape of its model, with
the model's HTTP status. The few codes AWS answers without modelling them
are listed with the service that answers them.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from fleetward.protocol.errors import AWSError
from fleetward.server.app import SERVICE_PACKAGES
from tests.unit.protocol.strategies import service_model
from tests.unit.protocol.test_errors import modeled_code

# Codes AWS returns that the service's model does not declare.
UNMODELED = {
    # CreateAlias/UpdateAlias/DeleteAlias on an alias/aws/ name
    ("kms", "NotAuthorizedException"),
    # the Query protocol's common validation error
    ("iam", "ValidationError"),
    ("sts", "ValidationError"),
}


def _error_classes(package: str) -> list[type[AWSError]]:
    pkg = importlib.import_module(f"fleetward.services.{package}")
    found: dict[str, type[AWSError]] = {}
    for info in pkgutil.walk_packages(pkg.__path__, f"{pkg.__name__}."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, AWSError) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


# Packages whose error classes also serve another service's operations.
SERVES = {"iam": ("iam", "sts")}  # STS's errors live with IAM's: one identity store


@pytest.mark.parametrize("package", SERVICE_PACKAGES)
def test_service_errors_are_modeled(package: str) -> None:
    classes = _error_classes(package)
    if not classes:
        pytest.skip(f"fleetward.services.{package} raises only errors defined elsewhere")
    models = [service_model(name) for name in SERVES.get(package, (package,))]
    for cls in classes:
        err = cls("m")
        found = False
        for model in models:
            code = err.code_for(model.protocol)
            shape = {modeled_code(s): s for s in model.error_shapes}.get(code)
            if (model.service_name, code) in UNMODELED:
                found = True
            elif shape is not None:
                found = True
                status = shape.metadata.get("error", {}).get("httpStatusCode")
                if status is not None:
                    assert err.status_for(model.protocol) == status, cls.__qualname__
        assert found, (
            f"{cls.__qualname__}: {err.code} is not an error of {' or '.join(SERVES.get(package, (package,)))}"
        )
