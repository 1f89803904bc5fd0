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

    // Batch is negative for history (days ago): the tokens stay positive.
    public static long InputTokens(int batch, int index) => 100 + Math.Abs((batch * 31L) + (index * 17L)) % 4_000;

    public static long OutputTokens(int batch, int index) => 10 + Math.Abs((batch * 7L) + (index * 13L)) % 1_000;

    public string CustomerOf(int batch, int index) => customers[(int)((((long)batch * batchSize + index) % customers.Count + customers.Count) % customers.Count)];

    public string BatchId(int batch) => $"{runId}-batch-{batch}";

    /// <summary>Events a day of history carries, spread over the customers.</summary>
    public int HistoryBatchSize => Math.Max(100, customers.Count);

    /// <summary>
    /// The request body of the history batch of <paramref name="daysAgo"/> days before the run: events at noon UTC of
    /// that day, tokens as for batch -<paramref name="daysAgo"/>.
    /// </summary>
    public byte[] HistoryBody(int daysAgo) =>
        Json($"{runId}-history-{daysAgo}", HistoryBatchSize, i => $"{runId}-h{daysAgo}-{i}", -daysAgo,
            _ => new DateTimeOffset(DateOnly.FromDateTime(startedAt.UtcDateTime).AddDays(-daysAgo), new TimeOnly(12, 0), TimeSpan.Zero));

    /// <summary>The request body of batch <paramref name="batch"/>, as UTF-8 JSON.</summary>
    public byte[] Body(int batch) =>
        Json(BatchId(batch), batchSize, i => $"{runId}-{batch}-{i}", batch, i => startedAt.AddMilliseconds(-(i % 5_000)));

    private byte[] Json(string batchId, int size, Func<int, string> eventId, int batch, Func<int, DateTimeOffset> timestamp)
    {
        var buffer = new ArrayBufferWriter<byte>(size * 260);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("batchId", batchId);
            json.WriteStartArray("events");
            for (var i = 0; i < size; i++)
            {
                json.WriteStartObject();
                json.WriteString("eventId", eventId(i));
                json.WriteString("customerId", CustomerOf(batch, i));
                json.WriteString("deploymentId", $"deployment-{i % 4}");
                json.WriteString("model", model);
                json.WriteNumber("inputTokens", InputTokens(batch, i));
                json.WriteNumber("outputTokens", OutputTokens(batch, i));
                json.WriteString("timestamp", timestamp(i));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The tokens each customer was sent in <paramref name="batches"/> and in the history of <paramref name="historyDays"/> days.</summary>
    public Dictionary<string, (long Input, long Output)> Totals(IEnumerable<int> batches, int historyDays = 0)
    {
        var totals = customers.ToDictionary(c => c, _ => (0L, 0L), StringComparer.Ordinal);
        foreach (var batch in batches.Concat(Enumerable.Range(1, historyDays).Select(d => -d)))
        {
            for (var i = 0; i < (batch < 0 ? HistoryBatchSize : batchSize); i++)
            {
                var customer = CustomerOf(batch, i);
                var (input, output) = totals[customer];
                totals[customer] = (input + InputTokens(batch, i), output + OutputTokens(batch, i));
            }
        }

        return totals;
    }
}
