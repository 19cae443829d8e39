"""Onboarding a merchant: ``koppel new`` (issue 14) and the pure logic behind it.

:mod:`koppel.onboarding.new` reads what a platform template needs and renders
the merchant file, :mod:`koppel.onboarding.plan` says what is left outside
Koppel, :mod:`koppel.onboarding.command` is the command. Nothing here imports
Airflow.
"""
