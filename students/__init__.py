"""Faculties, programmes, groups, students and their movement history."""
