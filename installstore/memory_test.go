package installstore_test

import (
	"testing"

	"github.com/switchboard-go/switchboard/installstore"
	"github.com/switchboard-go/switchboard/installstore/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Place {
		return storetest.Place{Open: func(opts ...installstore.Option) (storetest.Stores, error) {
			return installstore.NewMemory(opts...)
		}}
	})
}
