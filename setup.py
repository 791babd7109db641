"""Package metadata lives in setup.cfg; this shim keeps `pip install -e .` working with
setuptools versions that predate PEP 660 editable installs."""
from setuptools import setup

setup()
