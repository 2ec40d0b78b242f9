package io.taskbroker.common.sql;

/** A held job for one heartbeat, with the latest progress its plugin reported (null: none new). */
public record HeartbeatEntry(ClaimRef claim, Float progress, String progressMessage) {}
