-- One database per service (mirrors infra/dev/postgres.sh).
CREATE DATABASE sagaflow_gateway;
CREATE DATABASE sagaflow_orchestrator;
CREATE DATABASE sagaflow_inventory;
CREATE DATABASE sagaflow_pricing;
CREATE DATABASE sagaflow_payment;
CREATE DATABASE sagaflow_order;
CREATE DATABASE sagaflow_cart;
CREATE DATABASE sagaflow_notification;
CREATE DATABASE sagaflow_generation;
CREATE DATABASE sagaflow_planner;
CREATE DATABASE sagaflow_applications;
CREATE DATABASE sagaflow_catalog;
