using System.Buffers;
using System.Text.Json;

namespace ControlPlane.Simulator.Load;

/// <summary>
/// The batches <c>load-usage</c> sends: every event id new (the run id, the batch and the event's index),
/// events spread round-robin over the customers, timestamps within seconds before the run started (one
/// UTC day, so one day bucket per customer), token counts a known function of the indexes.
/// </summary>
internal sealed class UsageBatches(string runId, int batchSize, IReadOnlyList<string> customers, string model, DateTimeOffset startedAt)
{
    public int BatchSize => batchSize;

    public static long InputTokens(int batch, int index) => 100 + ((batch * 31L) + (index * 17L)) % 4_000;

    public static long OutputTokens(int batch, int index) => 10 + ((batch * 7L) + (index * 13L)) % 1_000;

    public string CustomerOf(int batch, int index) => customers[(int)(((long)batch * batchSize + index) % customers.Count)];

    public string BatchId(int batch) => $"{runId}-batch-{batch}";

    /// <summary>The request body of batch <paramref name="batch"/>, as UTF-8 JSON.</summary>
    public byte[] Body(int batch)
    {
        var buffer = new ArrayBufferWriter<byte>(batchSize * 260);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("batchId", BatchId(batch));
            json.WriteStartArray("events");
            for (var i = 0; i < batchSize; i++)
            {
                json.WriteStartObject();
                json.WriteString("eventId", $"{runId}-{batch}-{i}");
                json.WriteString("customerId", CustomerOf(batch, i));
                json.WriteString("deploymentId", $"deployment-{i % 4}");
                json.WriteString("model", model);
                json.WriteNumber("inputTokens", InputTokens(batch, i));
                json.WriteNumber("outputTokens", OutputTokens(batch, i));
                json.WriteString("timestamp", startedAt.AddMilliseconds(-(i % 5_000)));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The tokens each customer was sent in batches 0 to <paramref name="batches"/> - 1.</summary>
    public Dictionary<string, (long Input, long Output)> Totals(IEnumerable<int> batches)
    {
        var totals = customers.ToDictionary(c => c, _ => (0L, 0L), StringComparer.Ordinal);
        foreach (var batch in batches)
        {
            for (var i = 0; i < batchSize; i++)
            {
                var customer = CustomerOf(batch, i);
                var (input, output) = totals[customer];
                totals[customer] = (input + InputTokens(batch, i), output + OutputTokens(batch, i));
            }
        }

        return totals;
    }
}
