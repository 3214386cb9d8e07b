package com.dataflow.flink;

/** A decoded and enriched row of oltp.orders (Flink POJO). */
public class Order {
    public String op;
    public long id;
    public long customerId;
    public String status;
    public String amount;
    public String currency;
    public String sizeBand;
    public String createdAt;

    public Order() {}

    @Override
    public String toString() {
        return op + " id=" + id + " customer_id=" + customerId + " status=" + status + " amount=" + amount
                + " " + currency + " size_band=" + sizeBand + " created_at=" + createdAt;
    }
}
