"""The contract shared by server and client: paths, structs, limits, errno codes, signing.

Nothing here does I/O. The server and the client both import this package; neither
imports the other.
"""
