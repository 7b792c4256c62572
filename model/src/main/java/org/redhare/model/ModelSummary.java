package org.redhare.model;

import java.util.Map;

/**
 * What {@code redhare info} shows: parameter counts (total, and active per token for MoE models),
 * bytes of weights by dtype.
 */
public record ModelSummary(long totalParameters, long activeParameters, long weightBytes, Map<String, Long> parametersByDtype) {}
