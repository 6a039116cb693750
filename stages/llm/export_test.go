package llm

import "strings"

// BankText joins the response bank, for tests.
func BankText() string { return strings.Join(bank[:], "\n") }
