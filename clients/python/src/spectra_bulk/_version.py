"""The package version. Its major number is the proto package's: spectra.bulk.v1 is 1.x."""

PROTO_PACKAGE = "spectra.bulk.v1"
__version__ = "1.0.0"
