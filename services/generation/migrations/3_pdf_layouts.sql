-- PDF layouts of their own: `pdf` (classic), `pdf-ats` and `pdf-modern`.
ALTER TABLE document_files DROP CONSTRAINT document_files_format_check;
ALTER TABLE document_files ADD CONSTRAINT document_files_format_check
    CHECK (format IN ('md', 'html', 'pdf', 'pdf-ats', 'pdf-modern'));
