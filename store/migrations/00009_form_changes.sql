-- Tell every serve process when a form changes or goes, so that its cache of
-- form lookups drops the form at once: capture reads the form of every post
-- by its key. The payload is the key the form was found by ('' after a
-- TRUNCATE: every form). Notifications go out when the change commits.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION notify_form_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('leadflow_form_changed', '');
    ELSE
        PERFORM pg_notify('leadflow_form_changed', OLD.key);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER forms_notify_change AFTER UPDATE OR DELETE ON forms
    FOR EACH ROW EXECUTE FUNCTION notify_form_change();
CREATE TRIGGER forms_notify_truncate AFTER TRUNCATE ON forms
    FOR EACH STATEMENT EXECUTE FUNCTION notify_form_change();

-- +goose Down
DROP TRIGGER forms_notify_truncate ON forms;
DROP TRIGGER forms_notify_change ON forms;
DROP FUNCTION notify_form_change();
