package com.example.invoices;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The application's own plugin: "renders" an invoice and returns where the PDF went. */
public final class InvoicePdfPlugin implements TaskPlugin {
  private static final Logger LOG = LoggerFactory.getLogger(InvoicePdfPlugin.class);

  @Override
  public String name() {
    return "invoice-pdf";
  }

  @Override
  public JsonNode execute(TaskContext context) {
    long invoiceId = context.payload().path("invoice_id").asLong();
    LOG.info("rendering invoice {}", invoiceId);
    return JsonNodeFactory.instance.objectNode().put("pdf_path", "invoices/" + invoiceId + ".pdf");
  }
}
