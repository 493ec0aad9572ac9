"""The composer: message box, attachments and their preparation, drafts, outbox, capture dialogs."""
