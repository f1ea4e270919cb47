-- +goose Up
-- A panel may hand a resource to a new order once ours is gone (SynergyCP wipes a terminated
-- server and resells it), so only live services hold their panel resource exclusively.
DROP INDEX services_panel_resource_key;
CREATE UNIQUE INDEX services_panel_resource_key ON services (panel_server_id, panel_service_id)
    WHERE panel_service_id <> '' AND status NOT IN ('terminated', 'abandoned');

-- +goose Down
DROP INDEX services_panel_resource_key;
CREATE UNIQUE INDEX services_panel_resource_key ON services (panel_server_id, panel_service_id) WHERE panel_service_id <> '';
