"""Generators that make corpora, one subpackage per family.

Nothing is imported here: the registry in :mod:`supervisor_testing.generation` imports a
family only when one of its generators is asked for by name.
"""
