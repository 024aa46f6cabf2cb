"""Consolidates the Excel returns that counties send in into a provincial report."""
