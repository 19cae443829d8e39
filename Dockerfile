# Koppel's Airflow image for the cluster form (docker-compose.yaml).
#
# The Python 3.11 variant of the official image, because requirements.txt is compiled for 3.11.
# On top of it we install the runtime lock only (requirements.txt: Airflow, the providers Koppel
# and the cluster use, Celery, Redis, FAB, ...), never the development lock (requirements-dev.txt:
# pytest, ruff, mypy), keeping apache-airflow at the image's own version so pip can never move the
# core underneath the providers.
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}

COPY --chown=airflow:root requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/airflow/requirements.txt

# The code is baked in so the image also runs without bind mounts; docker-compose.yaml mounts the
# same folders over it for development. The editable install points at /opt/airflow/plugins, so a
# mounted plugins/ folder is the code that runs, and the `koppel` CLI is on PATH.
COPY --chown=airflow:root pyproject.toml /opt/airflow/pyproject.toml
COPY --chown=airflow:root plugins/koppel /opt/airflow/plugins/koppel
COPY --chown=airflow:root plugins/koppel_centre_plugin.py plugins/.airflowignore /opt/airflow/plugins/
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root include /opt/airflow/include
RUN pip install --no-cache-dir --no-deps -e /opt/airflow
