#!/usr/bin/env python3
"""Validate API Gateway exports with openapi-spec-validator (PyPI), the reference validator for
Swagger 2.0 and OpenAPI 3.x documents.

    openapi_check.py <export.json>...

prints one JSON line per file, {"file", "version"}, and exits 1 at the first invalid document
with the validator's message.
"""
import json
import sys

from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError


def main():
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            doc = json.loads(f.read().decode("utf-8"))
        try:
            validate(doc)
        except OpenAPIValidationError as e:
            sys.exit(f"{path}: not a valid OpenAPI document: {e}")
        version = doc.get("openapi") or doc.get("swagger")
        print(json.dumps({"file": path, "version": version}))


if __name__ == "__main__":
    main()
