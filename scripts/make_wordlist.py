"""Build src/leakmap/discovery/wordlist.txt: common subdomain labels from naming patterns.

Not copied from any published list: service and role names seen in infrastructure naming
(``db``, ``clickhouse``, ``grafana``, ``vpn``, ...), combined with environment and region
modifiers (``db-dev``, ``staging-api``) and small ordinals (``db1``, ``db02``). Data stores and
the tools around them (analytics, ML, queues, dashboards) come first, as they are what leakmap
looks for. Run: python scripts/make_wordlist.py > src/leakmap/discovery/wordlist.txt
"""

from __future__ import annotations

import sys

SERVICES = """
www web app apps api apis rest graphql gql mobile m portal admin administrator panel console
dashboard dash status health ping mail email smtp imap pop pop3 mx webmail exchange owa autodiscover
ns ns1 ns2 ns3 dns vpn remote rdp ssh bastion jump jumphost gateway gw proxy squid lb haproxy nginx
edge ingress router firewall fw waf cdn static assets img images media files file upload uploads
download downloads ftp sftp share backup backups bak archive storage s3 minio blob objects nas
db dbs database databases sql mysql mariadb postgres postgresql pg pgsql psql pgbouncer oracle mssql
redis cache memcache memcached mongo mongodb couch couchdb cassandra scylla hbase dynamo neo4j
clickhouse ch chdb chproxy olap analytics analytic warehouse dwh dw bi reporting reports report
etl elt pipeline pipelines ingest ingestion collector events event tracking track telemetry stats
metrics metric monitor monitoring prometheus prom alertmanager grafana kibana elastic elasticsearch
es opensearch search solr logstash loki logs log logging syslog graylog splunk sentry jaeger zipkin
otel tempo trace tracing apm newrelic datadog influx influxdb timescale victoria vm questdb druid
pinot presto trino hive hadoop hdfs spark flink airflow dagster prefect nifi superset metabase
redash tableau looker mode data datalake lake lakehouse delta iceberg dbt notebook notebooks
jupyter jupyterhub lab mlflow ml ai llm gpt chat chatbot bot assistant model models inference
serving triton vllm ollama embeddings vector vectors qdrant weaviate milvus chroma pinecone rag
kafka zookeeper zk queue mq rabbit rabbitmq nats pulsar activemq sqs broker stream streams
etcd consul vault nomad k8s kube kubernetes cluster node nodes worker workers master control
rancher argo argocd harbor registry docker hub jenkins ci cd build builds gitlab git github
gitea bitbucket svn jira confluence wiki docs doc help support kb status-page helpdesk ticket
auth sso login id identity idp oauth oidc keycloak okta ldap ad dc saml cas accounts account
crm erp hr payroll billing pay payment payments checkout shop store cart orders order inventory
cms blog news forum community events-api partners partner vendor vendors customer customers
internal intranet extranet corp office private secure secret hidden test-api sandbox demo
beta alpha preview canary old new legacy next v1 v2 v3 origin origin-www www2 web1 app1
""".split()

MODIFIERS = "dev staging prod test internal".split()
ORDINALS = "1 2 3".split()


def labels() -> list[str]:
    seen: dict[str, None] = {}
    for base in SERVICES:
        seen[base] = None
    for base in SERVICES:
        for n in ORDINALS:
            seen[f"{base}{n}"] = None
    for base in SERVICES:
        for mod in MODIFIERS:
            if mod != base:
                seen[f"{base}-{mod}"] = None
                seen[f"{mod}-{base}"] = None
    return list(seen)


if __name__ == "__main__":
    sys.stdout.write("\n".join(labels()) + "\n")
